"""Exceptions raised by lpa, each with the exit code the CLI uses for it.

Every message is one line that says what happened and, where there is
something to do about it, what to do next.
"""
from __future__ import annotations


class LpaError(Exception):
    """Base class of every error lpa raises on purpose."""

    exit_code = 1


class InputError(LpaError):
    """The user's input is malformed or names nothing on the card.

    Raised before anything that changes the card is sent.
    """

    exit_code = 2


class Declined(LpaError):
    """The user did not confirm; nothing was changed."""

    exit_code = 1


class CardError(LpaError):
    """The eUICC refused a request or answered something unusable."""

    exit_code = 3


class StatusWordError(CardError):
    """A command ended with a status word that is not success."""

    def __init__(self, command: str, sw: int, hint: str = "") -> None:
        self.command = command
        self.sw = sw
        text = f"{command} failed with status word {sw:04X}"
        meaning = STATUS_WORDS.get(sw) or STATUS_WORDS.get(sw & 0xFF00)
        if meaning:
            text += f" ({meaning})"
        if hint:
            text += f": {hint}"
        super().__init__(text)


class ResultError(CardError):
    """An ES10 function answered with a result code other than ok."""

    def __init__(self, function: str, code: int, reason: str, message: str) -> None:
        self.function = function
        self.code = code
        self.reason = reason
        super().__init__(message)


class ProtocolError(CardError):
    """The card's answer does not decode as the SGP.22 type expected."""


class Interrupted(LpaError):
    """Ctrl-C: the message says what became of the card and of the session with a server."""

    exit_code = 130

    def __init__(self, outcome: str = "") -> None:
        super().__init__(f"interrupted{'; ' + outcome if outcome else ''}")


class TransportError(LpaError):
    """The reader, pcscd or the link to the card failed."""

    exit_code = 4


class ServerError(LpaError):
    """An SM-DP+ could not be reached, or refused or failed a request."""

    exit_code = 5

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address}: {reason}")


#: ISO/IEC 7816-4 and GlobalPlatform meanings of the status words seen on eUICCs.
STATUS_WORDS = {
    0x6200: "warning, state unchanged",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6982: "security status not satisfied",
    0x6985: "conditions of use not satisfied",
    0x6A80: "incorrect data",
    0x6A81: "function not supported",
    0x6A82: "application not found",
    0x6A84: "not enough memory",
    0x6A86: "incorrect P1 or P2",
    0x6A88: "referenced data not found",
    0x6D00: "instruction not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}
