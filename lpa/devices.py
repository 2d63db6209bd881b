"""Devices: which transport a device string names, and opening it.

A device string is ``KIND[:ARGUMENT]`` (``--device``): ``pcsc[:reader]``
(a PC/SC reader, chosen by :mod:`lpa.readers`), ``sim[:state file]`` (the
simulated eUICC in the same process, a plug-in: :mod:`lpa.plugins`),
``replay:FILE`` (a recording, :mod:`lpa.transport.replay`) and
``at:PORT[@BAUD]`` (a modem's AT port, :mod:`lpa.transport.at`),
``qmi:PATH[,slot=N][,proxy]`` and ``mbim:PATH[,slot=N][,proxy]`` (a modem's
control device, :mod:`lpa.transport.qmi` and :mod:`lpa.transport.mbim`). Each
kind's driver is imported only when it is opened. This module sits above
the APDU layer: choosing a reader probes cards for an ISD-R.
"""
from __future__ import annotations

from typing import Callable

from .errors import InputError
from .transport import Transport

Note = Callable[[str], None]


def _pcsc(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .readers import open_reader

    return open_reader(argument, aids, note)


def _sim(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .plugins import SIMULATED_EUICC, load

    transport: Transport = load(SIMULATED_EUICC).open_device(argument, aids, note)
    return transport


def _replay(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .transport.replay import open_device

    return open_device(argument, aids, note)


def _at(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .transport.at import open_device

    return open_device(argument, aids, note)


def _qmi(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .transport.qmi import open_device

    return open_device(argument, aids, note)


def _mbim(argument: str | None, aids: tuple[bytes, ...], note: Note) -> Transport:
    from .transport.mbim import open_device

    return open_device(argument, aids, note)


#: Device kinds: name -> (how to open one, what its ARGUMENT is).
KINDS: dict[str, tuple[Callable[[str | None, tuple[bytes, ...], Note], Transport], str]] = {
    "pcsc": (_pcsc, "reader: index, name or unique part of a name (default: the only one with an eUICC)"),
    "sim": (_sim, "state file (default ~/.local/state/lpa/sim-euicc.json)"),
    "replay": (_replay, "recording file"),
    "at": (_at, "serial port of a modem[@baud]"),
    "qmi": (_qmi, "control device of a QMI modem[,slot=N][,proxy[=NAME]] (through qmi-proxy)"),
    "mbim": (_mbim, "control device of an MBIM modem[,slot=N][,proxy[=NAME]] (through mbim-proxy)"),
}


def device_of(*, reader: str | None = None, sim: bool = False, sim_state: str | None = None,
              replay: str | None = None) -> str:
    """The device string the short forms name (``pcsc`` when none is given)."""
    if replay is not None:
        return f"replay:{replay}"
    if sim:
        return f"sim:{sim_state}" if sim_state else "sim"
    return f"pcsc:{reader}" if reader is not None else "pcsc"


def open_device(device: str, aids: tuple[bytes, ...], note: Note) -> Transport:
    """Open the transport a device string ``KIND[:ARGUMENT]`` names; InputError for an unknown kind."""
    kind, _, argument = device.partition(":")
    if kind not in KINDS:
        raise InputError(f"unknown device {device!r}: KIND[:ARGUMENT] with KIND one of {', '.join(KINDS)}")
    return KINDS[kind][0](argument or None, aids, note)


def describe(aids: tuple[bytes, ...], *, modems: bool = False) -> list[dict[str, object]]:
    """Every reader with what is in it (and, with ``modems``, every serial port answering AT and every
    QMI and MBIM control device under /sys), as `lpa readers` lists them: ``index`` counts on from the
    readers to the modems."""
    from .readers import describe_readers

    found = describe_readers(aids)
    for entry in found:
        if len(entry.get("isdrAids", ())) > 1:  # type: ignore[arg-type]
            entry["eids"] = _eids(str(entry["name"]), entry["isdrAids"])  # type: ignore[arg-type]
    if modems:
        from .transport.at import describe_modems

        from .transport import mbim, qmi

        found += describe_modems(start=len(found))
        found += qmi.describe_modems(start=len(found))
        found += mbim.describe_modems(start=len(found))
    return found


def _eids(reader: str, aids: list[str]) -> list[str | None]:
    """The EID (ES10c.GetEID) of each eUICC instance of the card in ``reader``, None where it fails."""
    from . import es10
    from .apdu import open_isdr
    from .errors import LpaError
    from .transport.pcsc import PcscTransport

    eids: list[str | None] = []
    with PcscTransport(reader) as transport:
        for aid in aids:
            try:
                with open_isdr(transport, (bytes.fromhex(aid),)) as channel:
                    eids.append(es10.get_eid(channel))
            except LpaError:
                eids.append(None)
    return eids
