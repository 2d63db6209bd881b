"""Recordings of APDU exchanges (``lpa --record``) and a transport that replays them (``--replay``).

A recording is text: ``#`` comment lines (a header naming the command, the
date and the lpa version; ``# reset`` where the card was reset), then one
``> COMMAND`` line and one ``< [DATA] SW`` line per exchange, in hex. It
holds only what crossed the card interface: no keys or other secrets are
ever sent to a card by lpa.
"""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import IO, Callable

from ..errors import InputError, TransportError
from . import Transport


def open_device(path: str | None, aids: tuple[bytes, ...], note: Callable[[str], None]) -> "ReplayTransport":
    """The ``replay:FILE`` device."""
    if path is None:
        raise InputError("replay needs a recording: --device replay:FILE")
    return ReplayTransport(path)


def header(command: str, version: str) -> str:
    """The comment lines a recording starts with."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f"# lpa APDU recording\n# command: {command}\n# date: {now}\n# lpa: {version}\n"
            "# '>' command APDU, '<' response data and status word (hex)\n")


class Recorder:
    """Writes trace lines (see :class:`~lpa.transport.Traced`) to a recording file."""

    def __init__(self, path: str | Path, command: str, version: str) -> None:
        try:
            self.file: IO[str] = open(path, "w", encoding="ascii")
        except OSError as error:
            raise TransportError(f"cannot write the recording {path}: {error.strerror}") from None
        self.file.write(header(command, version))

    def __call__(self, line: str) -> None:
        self.file.write(line + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class ReplayTransport(Transport):
    """Answers from a recording; refuses any command that differs from it."""

    def __init__(self, path: str | Path) -> None:
        self.name = f"recording {path}"
        try:
            lines = Path(path).read_text(encoding="ascii").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise TransportError(f"cannot read the recording {path}: {error}") from None
        #: ("reset", None) or (command, (data, sw)) in recorded order.
        self.steps: list[tuple[bytes | str, tuple[bytes, int] | None]] = []
        command: bytes | None = None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            try:
                if line == "# reset":
                    self.steps.append(("reset", None))
                elif line.startswith(">"):
                    command = bytes.fromhex(line[1:])
                elif line.startswith("<") and command is not None:
                    *data, sw = line[1:].split()
                    self.steps.append((command, (bytes.fromhex("".join(data)), int(sw, 16))))
                    command = None
                elif line and not line.startswith("#"):
                    raise ValueError("neither a comment, a command nor a response")
            except ValueError as error:
                raise TransportError(f"{path}:{number}: not a recording line ({error})") from None
        self.position = 0
        self._diverged = False
        #: The segment the recording was made with: its longest STORE DATA block that more blocks follow
        #: (P1 11); 255 when every command was one block, which any segment size sends alike.
        self.segment_size = max((command[4] for command, _ in self.steps if isinstance(command, bytes)
                                 and len(command) > 5 and command[1] == 0xE2 and command[2] == 0x11), default=255)

    def _next(self, what: str) -> tuple[bytes | str, tuple[bytes, int] | None]:
        if self.position >= len(self.steps):
            raise TransportError(f"{self.name} ends before {what} (exchange {self.position + 1})")
        step = self.steps[self.position]
        self.position += 1
        return step

    def transmit(self, apdu: bytes) -> tuple[bytes, int]:
        recorded, response = self._next(f"command {apdu.hex().upper()}")
        if recorded != apdu or response is None:
            self._diverged = True
            expected = "a card reset" if response is None else recorded.hex().upper()  # type: ignore[union-attr]
            raise TransportError(f"{self.name}: exchange {self.position} differs: lpa sent {apdu.hex().upper()}, "
                                 f"the recording has {expected}")
        return response

    def reset(self) -> None:
        recorded, _ = self._next("a card reset")
        if recorded != "reset":
            self._diverged = True
            raise TransportError(f"{self.name}: exchange {self.position} differs: lpa reset the card, "
                                 f"the recording has {recorded.hex().upper()}")  # type: ignore[union-attr]

    @property
    def remaining(self) -> int:
        return len(self.steps) - self.position

    def close(self) -> None:
        if self.remaining and not self._diverged:
            raise TransportError(f"{self.name} has {self.remaining} more exchange(s) than lpa sent")
