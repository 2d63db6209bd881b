"""PC/SC transport (pyscard's scard module over pcsc-lite or WinSCard)."""
from __future__ import annotations

from smartcard import scard

from ..errors import TransportError
from . import Transport

_PROTOCOLS = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1


def _error(hresult: int, reader: str = "") -> TransportError:
    """A one-line TransportError for a PC/SC result code, saying what to do."""
    where = f" {reader!r}" if reader else ""
    messages = {
        scard.SCARD_E_NO_SERVICE: "pcscd is not running: start it (systemctl start pcscd, or run pcscd as root)",
        scard.SCARD_E_SERVICE_STOPPED: "pcscd stopped: start it again (systemctl start pcscd)",
        scard.SCARD_E_NO_READERS_AVAILABLE: "no card reader found: plug one in (or use --sim)",
        scard.SCARD_E_UNKNOWN_READER: f"no reader{where}: `lpa readers` lists them",
        scard.SCARD_E_READER_UNAVAILABLE: f"reader{where} is unavailable (unplugged?)",
        scard.SCARD_E_NO_SMARTCARD: f"no card in reader{where}",
        scard.SCARD_W_REMOVED_CARD: f"the card was removed from reader{where}",
        scard.SCARD_W_RESET_CARD: f"the card in reader{where} was reset by another program; try again",
        scard.SCARD_W_UNRESPONSIVE_CARD: f"the card in reader{where} does not answer (insert it again)",
        scard.SCARD_W_UNPOWERED_CARD: f"the card in reader{where} is not powered (insert it again)",
        scard.SCARD_E_SHARING_VIOLATION: f"reader{where} is in use by another program "
                                         "(another lpa, pcscd client or ModemManager); close it and try again",
        scard.SCARD_E_NOT_TRANSACTED: f"the exchange with the card in reader{where} failed (card removed?)",
        scard.SCARD_E_PROTO_MISMATCH: f"the card in reader{where} speaks neither T=0 nor T=1",
    }
    text = messages.get(hresult) or f"PC/SC error {scard.SCardGetErrorMessage(hresult)} (0x{hresult & 0xFFFFFFFF:08X})"
    error = TransportError(text)
    error.hresult = hresult  # type: ignore[attr-defined]
    return error


class ReaderStatus:
    """A PC/SC reader and what is in it.

    A plain class, not a NamedTuple like lpa's other records: its field ``index`` would hide
    tuple.index (ARCHITECTURE.md, "Where new code goes", on why records are not dataclasses).
    """

    __slots__ = ("index", "name", "card_present", "atr", "in_use")

    def __init__(self, index: int, name: str, card_present: bool, atr: bytes | None, in_use: bool) -> None:
        self.index, self.name, self.card_present, self.atr = index, name, card_present, atr
        #: Another program holds the card exclusively.
        self.in_use = in_use

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "name": self.name, "cardPresent": self.card_present,
                "atr": self.atr.hex().upper() if self.atr else None, "inUse": self.in_use}


class _Context:
    """A PC/SC context, released when closed."""

    def __init__(self) -> None:
        hresult, self.handle = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult)

    def readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self.handle, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult)
        return list(names)

    def close(self) -> None:
        scard.SCardReleaseContext(self.handle)


def list_readers() -> list[ReaderStatus]:
    """Every PC/SC reader, whether a card is in it, its ATR, and whether it is held."""
    context = _Context()
    try:
        names = context.readers()
        if not names:
            return []
        hresult, states = scard.SCardGetStatusChange(
            context.handle, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names])
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult)
        return [
            ReaderStatus(index, name, bool(event & scard.SCARD_STATE_PRESENT), bytes(atr) if atr else None,
                         bool(event & scard.SCARD_STATE_EXCLUSIVE))
            for index, (name, event, atr) in enumerate(states)
        ]
    finally:
        context.close()


class PcscTransport(Transport):
    """The card in one PC/SC reader, held exclusively while connected."""

    #: A reader carries any short APDU: 255 bytes of data (ISO/IEC 7816-4 5.1).
    segment_size = 255

    def __init__(self, reader: str, exclusive: bool = True) -> None:
        self.name = reader
        self._share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        self._context = _Context()
        hresult, self._card, self._protocol = scard.SCardConnect(
            self._context.handle, reader, self._share, _PROTOCOLS)
        if hresult != scard.SCARD_S_SUCCESS:
            self._context.close()
            raise _error(hresult, reader)

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        hresult, response = scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult, self.name)
        if len(response) < 2:
            raise TransportError(f"no answer from the card in reader {self.name!r} (was it removed?)")
        return bytes(response[:-2]), response[-2] << 8 | response[-1]

    def reset(self) -> None:
        """Warm reset (SCardReconnect with SCARD_RESET_CARD)."""
        hresult, self._protocol = scard.SCardReconnect(self._card, self._share, _PROTOCOLS, scard.SCARD_RESET_CARD)
        if hresult != scard.SCARD_S_SUCCESS:
            raise _error(hresult, self.name)

    def close(self) -> None:
        if self._card is not None:
            scard.SCardDisconnect(self._card, scard.SCARD_LEAVE_CARD)
            self._card = None
            self._context.close()
