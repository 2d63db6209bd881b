"""What the SM-DP+ offered, checked against what the eUICC allows and what the package installs (SGP.22 3.1.3;
docs/download-flow.md, "Cancel reasons").

The profileMetadata shown for consent is not signed: the StoreMetadataRequest
inside the Bound Profile Package (its 88 segments are MACed, not encrypted)
must say the same, or the download is cancelled with metadataMismatch. The
offer's policy rules must be allowed by the eUICC's Rules Authorisation
Table for the profile's owner, or it is cancelled with pprNotAllowed before
consent. serverSigned1 must name the transaction and the server asked.
"""
from __future__ import annotations

from typing import Any

from .. import codec
from ..es10 import PolicyRule

#: The StoreMetadataRequest fields the offer and the package must agree on, and their names for the user.
COMPARED = {"iccid": "ICCID", "serviceProviderName": "service provider name", "profileName": "profile name",
            "profileClass": "profile class", "profilePolicyRules": "policy rules",
            "notificationConfigurationInfo": "notification configuration"}


def package_metadata(bpp: dict[str, Any]) -> bytes:
    """The StoreMetadataRequest of a decoded BoundProfilePackage: its 88 segments' plaintext (each
    segment's value without its 8-byte MAC)."""
    return b"".join(bytes(segment)[:-8] for segment in bpp["sequenceOf88"])


def metadata_difference(offered: bytes, installed: bytes) -> str | None:
    """How the package's StoreMetadataRequest differs from the offered profileMetadata, in words; None if not."""
    offer = codec.decode("StoreMetadataRequest", offered)
    package = codec.decode("StoreMetadataRequest", installed)
    for field, name in COMPARED.items():
        shown, sent = _normalised(field, offer.get(field)), _normalised(field, package.get(field))
        if shown != sent:
            return f"the package's {name} is {_words(sent)}, the offer's {_words(shown)}"
    return None


def _normalised(field: str, value: Any) -> Any:
    if field == "profileClass" and value in (None, "operational"):
        return 2  # DEFAULT operational: absent and 2 are the same class
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex().upper()
    return value


def _words(value: Any) -> str:
    return "absent" if value is None else repr(value)


def rules_not_allowed(metadata: bytes, rat: list[PolicyRule]) -> list[str]:
    """The offer's policy rules no rule of the RAT lets its owner set (SGP.22 2.9.2.2)."""
    from ..encoding import PPR_BITS, bits_to_names

    value = codec.decode("StoreMetadataRequest", metadata)
    if "profilePolicyRules" not in value:
        return []
    owner = bytes(value["profileOwner"]["mccMnc"]).hex().upper() if "profileOwner" in value else None
    return [ppr for ppr in bits_to_names(value["profilePolicyRules"], PPR_BITS) if ppr != "pprUpdateControl"
            and not any(ppr in rule.ppr_ids and any(_operator_matches(mcc_mnc, owner) for mcc_mnc, _, _ in rule.operators)
                        for rule in rat)]


def _operator_matches(allowed: str, owner: str | None) -> bool:
    """Does a RAT's mccMnc (hex, E: any digit) cover the profile owner's (None: an owner not named)?"""
    if owner is None:
        return set(allowed) == {"E"}
    return len(allowed) == len(owner) and all(a in ("E", o) for a, o in zip(allowed, owner))


def server_signed1_difference(server_signed1: bytes, transaction_id: bytes, address: str) -> str | None:
    """How serverSigned1 disagrees with the transactionId the server answered and the address lpa asked."""
    signed = codec.decode("ServerSigned1", server_signed1)
    if bytes(signed["transactionId"]) != transaction_id:
        return f"serverSigned1 names transaction {bytes(signed['transactionId']).hex().upper()}, " \
               f"not {transaction_id.hex().upper()}"
    if str(signed["serverAddress"]).lower() != address.lower():
        return f"serverSigned1 names server {signed['serverAddress']!r}, not {address!r}"
    return None
