"""Downloading a profile: the LPA's side of SGP.22 3.1.3 (docs/download-flow.md), as one operation.

GetEUICCChallenge and EUICCInfo1 -> ES9+ initiateAuthentication ->
AuthenticateServer -> ES9+ authenticateClient -> the user's consent (and
confirmation code) -> PrepareDownload -> ES9+ getBoundProfilePackage ->
LoadBoundProfilePackage, piece by piece -> the installation result,
delivered to the SM-DP+ as the install notification. Everything the SM-DP+
signed is forwarded byte for byte. Any failure after AuthenticateServer
cancels the session on the eUICC and at the SM-DP+ with the reason SGP.22
gives for it (docs/download-flow.md, "Cancel reasons"); after a ProfileInstallationResult there
is nothing to cancel, and the result is what the SM-DP+ gets.

The mutual authentication (:mod:`.authentication`) is shared with SM-DS
discovery (:mod:`.discovery`); :func:`activation_without_code` says what
to download when the user gives no activation code.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Iterator

from .. import codec, es9p, es10, interrupts
from ..activation import ActivationCode, hash_cc
from ..apdu import Channel
from ..bpp import split_bpp
from ..encoding import ICON_TYPES, PPR_BITS, PROFILE_CLASSES, bits_to_names, iccid_from_bytes
from ..errors import Declined, InputError, Interrupted, LpaError, ResultError, ServerError
from ..session import Session
from .authentication import device_info, mutual_authentication
from .notifications import INTERRUPTED, Delivery, client_for, deliver, delivery_notes
from .offer import metadata_difference, package_metadata, rules_not_allowed

if TYPE_CHECKING:
    from ..https import HttpsClient
    from .discovery import Event

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
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """Ctrl-C kept the installation result on the eUICC (the profile's state is in :attr:`result`)."""
        return any(d.error == INTERRUPTED for d in self.deliveries)

    def to_json(self) -> dict[str, Any]:
        error = self.result.error
        return {**self.offer.to_json(), "isdpAid": self.result.isdp_aid,
                "error": None if error is None else {"bppCommandId": error[0], "errorReason": error[1]},
                "notifications": [d.to_json() for d in self.deliveries]}

    def summary(self) -> str:
        """What became of the download, in words: the eUICC's refusal and what to do, or what was
        installed; then what became of its notification."""
        notes = delivery_notes(self.deliveries)
        if self.result.error:
            command, reason = self.result.error
            hint = REFUSAL_HINTS.get(reason, "ask the operator whether to try again or for a new activation code")
            return "; ".join([f"not installed: the eUICC answered {reason} ({command})", *notes, hint])
        return "; ".join([f"installed {self.offer.iccid} ({self.offer.provider}, {self.offer.name}) in ISD-P "
                          f"{self.result.isdp_aid}", *notes])


#: What to do when the eUICC refuses to install (SGP.22 5.7.6, ErrorReason), by reason.
REFUSAL_HINTS = {
    "installFailedDueToIccidAlreadyExistsOnEuicc": "the profile is already on this eUICC (`lpa list` shows it)",
    "installFailedDueToInsufficientMemoryForProfile": "free memory on the eUICC (`lpa delete` a profile you no "
                                                      "longer use) and ask the operator for a new activation code",
    "pprNotAllowed": "the eUICC's rules do not allow this profile's policy rules here (`lpa info` shows them)",
}


def offer_from(metadata: bytes, cc_required: bool, address: str) -> Offer:
    """An :class:`Offer` from the StoreMetadataRequest (BF25) the SM-DP+ ``address`` sent."""
    value = _server_data(address, "profileMetadata", "StoreMetadataRequest", metadata)
    number = value.get("profileClass", "operational")  # DEFAULT operational: the decoder gives the name
    return Offer(iccid=iccid_from_bytes(bytes(value["iccid"])), provider=value["serviceProviderName"],
                 name=value["profileName"],
                 profile_class=PROFILE_CLASSES[number] if isinstance(number, int) and 0 <= number < 3
                 else str(number),
                 icon_type=ICON_TYPES[value["iconType"]] if value.get("iconType") in (0, 1) else None,
                 policy_rules=tuple(bits_to_names(value["profilePolicyRules"], PPR_BITS))
                 if "profilePolicyRules" in value else (), confirmation_code_required=cc_required)


def download(session: Session, code: ActivationCode, *, consent: Callable[[Offer], bool],
             confirmation_code: Callable[[], str], imei: str | None = None, notify: bool = True,
             progress: Callable[[int, int], None] = lambda done, total: None) -> DownloadResult:
    """Download and install the profile ``code`` names; deliver its installation result (``notify``).

    Ctrl-C (:mod:`lpa.interrupts`) stops at once while lpa waits for the SM-DP+ or the user, and
    otherwise after the card's command in progress: before the first BPP piece the session is
    cancelled on both sides (:class:`Interrupted` says whether the SM-DP+ accepted it); once the
    pieces are being loaded lpa finishes, so that the card's result is known, and keeps the
    install notification on the eUICC (the result's :attr:`DownloadResult.interrupted`).

    ``progress(done, total)`` is told how many bytes of the Bound Profile Package the eUICC took, before
    the first piece and after each one.
    """
    # the default SM-DP+ flow leaves matchingId out, as lpac does (download-notes 1.5: absent, not empty)
    context = {"matchingId": code.matching_id, "deviceInfo": device_info(imei)} if code.matching_id else \
        {"deviceInfo": device_info(imei)}
    ch = session.channel
    address = code.smdp_address
    with client_for(session) as client:
        with interrupts.deferred() as gate:
            def ask(function: Callable[..., Any], *args: Any) -> Any:
                """An ES9+ call: lpa only waits for the SM-DP+, so Ctrl-C stops it at once."""
                with gate.allowed(), session.waiting(f"waiting for the SM-DP+ {address}"):
                    return function(client, address, *args)

            # card commands and ES9+ calls until the offer: seconds on a slow modem or with a slow SM-DP+
            with session.waiting(f"authenticating with the SM-DP+ {address}"):
                auth = mutual_authentication(ch, address, context, lambda challenge, info1: ask(
                    es9p.initiate_authentication, challenge, info1), session.euicc_info1().der)
                transaction = _Transaction(ch, client, address, auth.tid_text, auth.transaction_id, session.waiting)
                if auth.refused is not None:
                    with gate.allowed():
                        transaction.forward(es9p.authenticate_client, auth.response)
                    raise ResultError("AuthenticateServer", 0, auth.refused,
                                      f"the eUICC refused the SM-DP+ {address}: {auth.refused}")
                with transaction.cancelling("undefinedReason"):
                    offered = ask(es9p.authenticate_client, auth.tid_text, auth.response)
                    signed2 = _server_data(address, "smdpSigned2", "SmdpSigned2", offered["smdpSigned2"])
                    offer = offer_from(offered["profileMetadata"], bool(signed2["ccRequiredFlag"]), address)
                    gate.check()
                    if es10.get_profiles_info(ch, iccid=offer.iccid, fields=("iccid",)):  # nothing sent to the card yet
                        transaction.cancel("undefinedReason")
                        raise InputError(f"profile {offer.iccid} is already on this eUICC; nothing was downloaded "
                                         f"and the session is cancelled (`lpa list` shows it; `lpa delete "
                                         f"{offer.iccid}` first to install it again)")
                    # the RAT only matters for an offer with policy rules (SGP.22 2.9.2.2): none, no GetRAT
                    refused_rules = rules_not_allowed(offered["profileMetadata"], es10.get_rat(ch)) \
                        if offer.policy_rules else []
                    if refused_rules:
                        outcome = transaction.cancel("pprNotAllowed")
                        raise ResultError("GetRAT", 0, "pprNotAllowed", f"profile {offer.iccid} has policy rules "
                                          f"this eUICC does not allow ({', '.join(refused_rules)}); not downloaded, "
                                          f"{outcome}")
            with transaction.cancelling("endUserRejection"):
                with gate.allowed():
                    if not consent(offer):
                        outcome = transaction.cancel("endUserRejection")
                        raise Declined(f"profile {offer.iccid} was not downloaded; {outcome}")
                    hashed = hash_cc(confirmation_code(), auth.transaction_id) if offer.confirmation_code_required \
                        else None
            with transaction.cancelling("undefinedReason"), session.waiting(f"preparing the download from {address}"):
                prepared, refused = es10.prepare_download(ch, offered["smdpSigned2"], offered["smdpSignature2"],
                                                          offered["smdpCertificate"], hashed)
                if refused is not None:
                    with gate.allowed():
                        transaction.forward(es9p.get_bound_profile_package, prepared)
                    raise ResultError("PrepareDownload", 0, refused, f"the eUICC refused the download: {refused}")
                bpp = ask(es9p.get_bound_profile_package, auth.tid_text, prepared)
                package = _server_data(address, "boundProfilePackage", "BoundProfilePackage", bpp)
                difference = metadata_difference(offered["profileMetadata"], package_metadata(package))
                if difference is not None:
                    outcome = transaction.cancel("metadataMismatch")
                    raise ServerError(address, f"the profile package is not the profile offered: {difference}; "
                                      f"nothing installed, {outcome}")
            with transaction.cancelling("loadBppExecutionError"):
                pieces = split_bpp(bpp)  # decoded above: whatever fails here is lpa's
                gate.check()  # the last point where nothing of the profile is on the card
                result = es10.load_bound_profile_package(_Counting(ch, pieces, progress), pieces)
            interrupted = gate.pending
        if interrupted:
            return DownloadResult(offer, result, [Delivery(result.metadata, False, error=INTERRUPTED)])
        # on the connection of the four ES9+ exchanges (no second TLS handshake), the PIR as the card answered it
        # (no RetrieveNotificationsList)
        signed = es10.PendingNotification(result.metadata, result.der)
        return DownloadResult(offer, result, deliver(session, [signed], client=client) if notify else [])


def _server_data(address: str, field: str, type_name: str, data: bytes) -> Any:
    """The SM-DP+'s ``field``, decoded as ``type_name``: a failure is the server's."""
    try:
        return codec.decode(type_name, data, source=f"its {field}")
    except LpaError as error:
        raise ServerError(address, str(error)) from None


def activation_without_code(session: Session, *, event: str | None = None, smds: str | None = None,
                            imei: str | None = None, choose: Callable[[list[Event]], Event],
                            say: Callable[[str], None] = lambda message: None) -> ActivationCode:
    """What to download when the user gives no activation code: the default SM-DP+ with the
    matching ID left out (SGP.22 3.1.3), else an SM-DS event (SGP.22 3.6.2): the one ``event`` names (its
    number in the listing or its ID), the only one, or the one ``choose`` picks of several.

    ``smds`` asks that SM-DS instead of the root one, and skips the default SM-DP+.
    """
    from .discovery import discover

    asked = "the SM-DS"
    if smds is None:  # one read gives the default SM-DP+ and the root SM-DS
        addresses = es10.get_euicc_configured_addresses(session.channel)
        if event is None and addresses.default_dp_address:
            say(f"asking the default SM-DP+ {addresses.default_dp_address}")
            return ActivationCode(addresses.default_dp_address, "")
        smds, asked = addresses.root_ds_address or None, "the eUICC's root SM-DS"
        if event is None:
            say(f"no default SM-DP+ on this eUICC: asking its root SM-DS {smds}")
    try:
        with session.waiting(f"asking {asked} {smds or ''}".rstrip()):
            events = discover(session, smds, imei=imei)
    except ServerError as error:
        raise ServerError(error.address, f"{error.reason} ({asked}, asked for a profile to download; "
                                         "give an activation code)") from None
    listing = "; ".join(f"{i}: {e.event_id} at {e.address}" for i, e in enumerate(events, 1))
    if event is not None:
        chosen = [e for i, e in enumerate(events, 1) if event in (str(i), e.event_id)]
        if not chosen:
            raise InputError(f"no event {event} for this eUICC" + (f" (there are {listing})" if events else
                                                                    " (the SM-DS has none)"))
        picked = chosen[0]
    elif not events:
        raise InputError("nothing to download: no default SM-DP+ is set and the SM-DS has no event for this eUICC; "
                         "give an activation code")
    else:
        picked = events[0] if len(events) == 1 else choose(events)
    say(f"event {picked.event_id} at {picked.address}")
    return ActivationCode(picked.address, picked.event_id)


class _Counting:
    """The ISD-R channel, telling ``progress`` how many bytes of the BPP's pieces the eUICC took: before
    the first piece (0) and after each one. Bytes, not pieces: the pieces differ a hundredfold in size,
    and a time left estimated from them would be wrong (a modem's first pieces are quick, its profile
    elements slow)."""

    def __init__(self, ch: Channel, pieces: list[bytes], progress: Callable[[int, int], None]) -> None:
        self.ch, self.progress, self.done = ch, progress, 0
        self.total = sum(len(piece) for piece in pieces)
        self.note = getattr(ch, "note", None)
        progress(0, self.total)

    def store_data(self, payload: bytes, name: str = "") -> bytes:
        answer = self.ch.store_data(payload, name)
        self.done += len(payload)
        self.progress(self.done, self.total)
        return answer


@dataclass
class _Transaction:
    """The open download session on both sides, and how to end it."""

    ch: Channel
    client: HttpsClient
    address: str
    tid_text: str
    transaction_id: bytes
    #: The session's status line for a wait (:attr:`lpa.session.Session.waiting`).
    waiting: Callable[[str], ContextManager[None]]
    open: bool = True

    def forward(self, function: Callable[..., Any], response: bytes) -> None:
        """Send the eUICC's refusal on to the SM-DP+, which then ends its side."""
        self.open = False
        try:
            with self.waiting(f"telling the SM-DP+ {self.address} of the eUICC's refusal"):
                function(self.client, self.address, self.tid_text, response)
        except ServerError:
            pass  # expected: the SM-DP+ answers the refusal with a failure

    def cancel(self, reason: str) -> str:
        """ES10b.CancelSession, then ES9+ cancelSession with the eUICC's signed answer; best effort.

        What became of the session, in words (for the line Ctrl-C ends with)."""
        if not self.open:
            return "the session had ended"
        self.open = False
        try:
            answer = es10.cancel_session(self.ch, self.transaction_id, reason)
        except LpaError as error:
            return f"the eUICC did not cancel the session ({error})"
        try:
            with self.waiting(f"cancelling the session at the SM-DP+ {self.address}"):
                es9p.cancel_session(self.client, self.address, self.tid_text, answer)
        except ServerError as error:  # the cancel is a courtesy: the original error is what the user needs to see
            return f"the session is cancelled on the eUICC ({reason}); the SM-DP+ did not accept the cancel " \
                   f"({error})"
        return f"the session is cancelled on the eUICC and at the SM-DP+ {self.address} ({reason})"

    @contextmanager
    def cancelling(self, reason: str) -> Iterator[None]:
        """Cancel the session with ``reason`` when the block fails; Ctrl-C cancels it (endUserRejection)
        and ends as :class:`Interrupted`, saying what became of it."""
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(f"nothing was installed; {self.cancel('endUserRejection')}") from None
        except BaseException:
            self.cancel(reason)
            raise
