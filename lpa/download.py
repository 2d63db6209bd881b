"""Downloading a profile: the LPA's side of SGP.22 3.1.3 (download-notes 1), as one operation.

GetEUICCChallenge and EUICCInfo1 -> ES9+ initiateAuthentication ->
AuthenticateServer -> ES9+ authenticateClient -> the user's consent (and
confirmation code) -> PrepareDownload -> ES9+ getBoundProfilePackage ->
LoadBoundProfilePackage, piece by piece -> the installation result,
delivered to the SM-DP+ as the install notification. Everything the SM-DP+
signed is forwarded byte for byte. Any failure after AuthenticateServer
cancels the session on the eUICC and at the SM-DP+ with the reason SGP.22
gives for it (download-notes 1.12); after a ProfileInstallationResult there
is nothing to cancel, and the result is what the SM-DP+ gets.

The mutual authentication part (:func:`mutual_authentication`) is also
SM-DS discovery's (:mod:`lpa.discovery`).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from . import codec, es10
from .activation import ActivationCode, hash_cc
from .bpp import split_bpp
from .encoding import ICON_TYPES, PPR_BITS, PROFILE_CLASSES, bits_to_names, iccid_from_bytes
from .errors import Declined, InputError, LpaError, ResultError, ServerError

#: TAC sent in deviceInfo when no IMEI is given: lpac's default, accepted by a commercial SM-DP+ (download-notes 1.5).
DEFAULT_TAC = bytes.fromhex("35290611")


@dataclass(frozen=True)
class Offer:
    """What the SM-DP+ offers (its profileMetadata), shown to the user before consent."""

    iccid: str
    provider: str
    name: str
    profile_class: str
    icon_type: str | None
    policy_rules: tuple[str, ...]
    confirmation_code_required: bool

    def to_json(self) -> dict[str, Any]:
        return {"iccid": self.iccid, "serviceProviderName": self.provider, "profileName": self.name,
                "profileClass": self.profile_class, "iconType": self.icon_type,
                "profilePolicyRules": list(self.policy_rules), "ccRequired": self.confirmation_code_required}


@dataclass(frozen=True)
class DownloadResult:
    """A download that reached the eUICC's installation result."""

    offer: Offer
    result: es10.InstallationResult
    deliveries: list[Any] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        error = self.result.error
        return {**self.offer.to_json(), "isdpAid": self.result.isdp_aid,
                "error": None if error is None else {"bppCommandId": error[0], "errorReason": error[1]},
                "notifications": [d.to_json() for d in self.deliveries]}


def device_info(imei: str | None) -> dict[str, Any]:
    """deviceInfo for ctxParams1: the TAC and IMEI (nibble-swapped BCD, F padded) of ``imei``, or lpac's TAC."""
    if imei is None:
        return {"tac": DEFAULT_TAC, "deviceCapabilities": {}}
    if not (imei.isdigit() and imei.isascii() and len(imei) in (14, 15, 16)):
        raise InputError(f"IMEI {imei!r} must be 14 to 16 digits")
    digits = imei.ljust(16, "F")
    packed = bytes.fromhex("".join(digits[i + 1] + digits[i] for i in range(0, 16, 2)))
    return {"tac": packed[:4], "deviceCapabilities": {}, "imei": packed}


def offer_from(metadata: bytes, cc_required: bool) -> Offer:
    """An :class:`Offer` from a StoreMetadataRequest (BF25)."""
    value = codec.decode("StoreMetadataRequest", metadata)
    number = value.get("profileClass", "operational")  # DEFAULT operational: the decoder gives the name
    return Offer(iccid=iccid_from_bytes(bytes(value["iccid"])), provider=value["serviceProviderName"],
                 name=value["profileName"],
                 profile_class=PROFILE_CLASSES[number] if isinstance(number, int) and 0 <= number < 3
                 else str(number),
                 icon_type=ICON_TYPES[value["iconType"]] if value.get("iconType") in (0, 1) else None,
                 policy_rules=tuple(bits_to_names(value["profilePolicyRules"], PPR_BITS))
                 if "profilePolicyRules" in value else (), confirmation_code_required=cc_required)


@dataclass(frozen=True)
class Authentication:
    """The eUICC's answer to a server's initiateAuthentication (SGP.22 3.1.2), to forward to authenticateClient."""

    tid_text: str
    transaction_id: bytes
    #: The AuthenticateServerResponse as the card sent it (an error one too).
    response: bytes
    #: The eUICC's reason when it refused the server.
    refused: str | None
    #: The server's CERT.DPauth or CERT.DSauth (DER), as it sent it.
    server_certificate: bytes


def mutual_authentication(ch: Any, address: str, context: dict[str, Any],
                          initiate: Callable[[bytes, bytes], dict[str, Any]],
                          info1: bytes | None = None) -> Authentication:
    """The common mutual authentication (SGP.22 3.1.2) up to the eUICC's answer: GetEUICCChallenge,
    EUICCInfo1 (unless given), the server's initiateAuthentication (``initiate(challenge, info1)``: ES9+ or
    ES11), then AuthenticateServer with ctxParams1 ``context``."""
    challenge = es10.get_euicc_challenge(ch)
    info1 = info1 or es10.get_euicc_info1_raw(ch)
    auth = initiate(challenge, info1)
    tid_text = auth["transactionId"]
    try:
        transaction_id = bytes.fromhex(str(tid_text))
    except ValueError:
        raise ServerError(address, f"transactionId {tid_text!r} is not hexadecimal") from None
    response, refused = es10.authenticate_server(ch, auth["serverSigned1"], auth["serverSignature1"],
                                                 auth["euiccCiPKIdToBeUsed"], auth["serverCertificate"], context)
    return Authentication(str(tid_text), transaction_id, response, refused, auth["serverCertificate"])


def download(euicc: Any, code: ActivationCode, *, consent: Callable[[Offer], bool],
             confirmation_code: Callable[[], str], imei: str | None = None, notify: bool = True,
             progress: Callable[[int, int], None] = lambda done, total: None) -> DownloadResult:
    """Download and install the profile ``code`` names; deliver its installation result (``notify``)."""
    context = {"matchingId": code.matching_id, "deviceInfo": device_info(imei)}
    ch = euicc.channel
    address = code.smdp_address
    with euicc.es9p_client() as client:
        auth = mutual_authentication(ch, address, context, lambda challenge, info1: client.initiate_authentication(
            address, challenge, info1))
        session = _Session(ch, client, address, auth.tid_text, auth.transaction_id)
        if auth.refused is not None:
            session.forward(client.authenticate_client, auth.response)
            raise ResultError("AuthenticateServer", 0, auth.refused,
                              f"the eUICC refused the SM-DP+ {address}: {auth.refused}")
        with session.cancelling("undefinedReason"):
            offered = client.authenticate_client(address, auth.tid_text, auth.response)
            signed2 = codec.decode("SmdpSigned2", offered["smdpSigned2"])
            offer = offer_from(offered["profileMetadata"], bool(signed2["ccRequiredFlag"]))
        with session.cancelling("endUserRejection"):
            if not consent(offer):
                session.cancel("endUserRejection")
                raise Declined(f"profile {offer.iccid} was not downloaded; the session is cancelled")
            hashed = hash_cc(confirmation_code(), auth.transaction_id) if offer.confirmation_code_required else None
        with session.cancelling("undefinedReason"):
            prepared, refused = es10.prepare_download(ch, offered["smdpSigned2"], offered["smdpSignature2"],
                                                      offered["smdpCertificate"], hashed)
            if refused is not None:
                session.forward(client.get_bound_profile_package, prepared)
                raise ResultError("PrepareDownload", 0, refused, f"the eUICC refused the download: {refused}")
            bpp = client.get_bound_profile_package(address, auth.tid_text, prepared)
        with session.cancelling("loadBppExecutionError"):
            pieces = split_bpp(bpp)
            result = es10.load_bound_profile_package(_Counting(ch, len(pieces), progress), pieces)
    return DownloadResult(offer, result, euicc.deliver([result.metadata]) if notify else [])


class _Counting:
    """The ISD-R channel, telling ``progress`` about each BPP piece sent."""

    def __init__(self, ch: Any, total: int, progress: Callable[[int, int], None]) -> None:
        self.ch, self.total, self.progress, self.done = ch, total, progress, 0
        self.note = getattr(ch, "note", None)

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        answer = self.ch.store_data(payload, name)
        self.done += 1
        self.progress(self.done, self.total)
        return answer


@dataclass
class _Session:
    """The open download session on both sides, and how to end it."""

    ch: Any
    client: Any
    address: str
    tid_text: str
    transaction_id: bytes
    open: bool = True

    def forward(self, function: Callable[..., Any], response: bytes) -> None:
        """Send the eUICC's refusal on to the SM-DP+, which then ends its side."""
        self.open = False
        try:
            function(self.address, self.tid_text, response)
        except ServerError:
            pass  # expected: the SM-DP+ answers the refusal with a failure

    def cancel(self, reason: str) -> None:
        """ES10b.CancelSession, then ES9+ cancelSession with the eUICC's signed answer; best effort."""
        if not self.open:
            return
        self.open = False
        try:
            answer = es10.cancel_session(self.ch, self.transaction_id, reason)
            self.client.cancel_session(self.address, self.tid_text, answer)
        except LpaError:
            pass  # the cancel is a courtesy: the original error is what the user needs to see

    @contextmanager
    def cancelling(self, reason: str) -> Iterator[None]:
        """Cancel the session with ``reason`` when the block fails (Ctrl-C: endUserRejection)."""
        try:
            yield
        except BaseException as error:
            self.cancel("endUserRejection" if isinstance(error, KeyboardInterrupt) else reason)
            raise
