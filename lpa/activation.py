"""Activation codes and confirmation codes: what a user types or scans to download a profile.

An activation code (SGP.22 4.1) is
``LPA:1$<SM-DP+ address>$<matching ID>[$<SM-DP+ OID>[$<confirmation code required flag>]]``,
usually in a QR code. A confirmation code is a secret the operator gives
separately; the eUICC only ever sees its hash (SGP.22 3.1.3.1).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .address import parse_address
from .errors import InputError, ServerError

_QUOTING = "quote the whole code in single quotes: lpa download 'LPA:1$...'"


@dataclass(frozen=True)
class ActivationCode:
    """The fields of an activation code (SGP.22 4.1)."""

    smdp_address: str
    matching_id: str
    #: The SM-DP+'s OID, informational; None when absent or empty.
    smdp_oid: str | None = None
    #: The code announces that a confirmation code will be asked for (the SM-DP+ decides).
    cc_required: bool = False


#: The longest activation code and matching ID lpa takes: a QR code an operator prints holds far less,
#: and the eUICC's request carrying the matching ID (ctxParams1, SGP.22 5.7.13) must fit the card.
MAX_CODE = 1024
MAX_MATCHING_ID = 255


def parse_activation_code(text: str) -> ActivationCode:
    """Parse an activation code; InputError says what is wrong with it and what to do.

    The ``LPA:`` prefix (the QR code's URI scheme) is optional and matched
    case-insensitively; surrounding white space is trimmed. Only format 1
    exists. A code whose ``$`` fields a shell has expanded away (``$rsp``,
    ``$QR`` and ``$1`` are variables to a shell) is recognised as such.
    """
    code = text.strip()
    if len(code) > MAX_CODE:
        raise InputError(f"the activation code is {len(code)} characters; an SM-DP+'s fit a QR code "
                         f"(at most {MAX_CODE} here): check what was pasted")
    body = code[4:] if code[:4].upper() == "LPA:" else code
    fields = body.split("$")
    if len(fields) < 3:
        if body.startswith("1") and "$" not in body:  # a shell expanded every $field away
            raise InputError(f"activation code {code!r} has lost its $ fields, probably to the shell "
                             f"(it expands $name); {_QUOTING}")
        raise InputError(f"activation code {code!r} is not LPA:1$<SM-DP+ address>$<matching ID>")
    if fields[0] != "1":
        raise InputError(f"activation code format {fields[0]!r} is not supported: SGP.22 defines only 1")
    if len(fields) > 5:
        raise InputError(f"activation code {code!r} has {len(fields)} $ fields; at most 5 exist")
    address, matching_id = fields[1], fields[2]
    try:
        parse_address(address)
    except ServerError:
        hint = f"; {_QUOTING}" if not address or address.startswith((".", "-")) else ""
        raise InputError(f"activation code has {address!r} where the SM-DP+ address goes{hint}") from None
    check_matching_id(matching_id, "activation code matching ID")
    oid = fields[3] if len(fields) > 3 and fields[3] else None
    if oid is not None and not all(part.isdigit() and part.isascii() for part in oid.split(".")):
        raise InputError(f"activation code SM-DP+ OID {oid!r} is not a dotted number")
    return ActivationCode(address.strip(), matching_id, oid, len(fields) > 4 and fields[4] == "1")


def check_matching_id(matching_id: str, what: str = "--matching-id") -> str:
    """Return ``matching_id`` if it is printable ASCII without spaces, at most :data:`MAX_MATCHING_ID`
    characters (as SM-DP+ servers issue them); else raise InputError."""
    if len(matching_id) > MAX_MATCHING_ID:
        raise InputError(f"{what} is {len(matching_id)} characters; an SM-DP+'s are at most {MAX_MATCHING_ID}")
    if any(not char.isascii() or not char.isprintable() or char.isspace() for char in matching_id):
        raise InputError(f"{what} {matching_id!r} holds characters an SM-DP+ never issues")
    return matching_id


def hash_cc(confirmation_code: str, transaction_id: bytes) -> bytes:
    """hashCc = SHA-256(SHA-256(confirmation code) || transactionId) (SGP.22 3.1.3.1)."""
    return hashlib.sha256(hashlib.sha256(confirmation_code.encode("utf-8")).digest() + transaction_id).digest()
