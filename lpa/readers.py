"""Choosing the PC/SC reader that holds the eUICC.

``--reader`` takes an index, a name, or a unique part of a name. Without
it, the readers holding a card are considered; readers held by another
program are skipped, and when several remain the ones whose card answers
SELECT ISD-R, at a known AID or by partial SELECT (a YubiKey or a bank card
does not), are kept. Exactly one must remain.
"""
from __future__ import annotations

from typing import Callable

from .apdu import list_isdrs
from .errors import InputError, TransportError
from .transport.pcsc import PcscTransport, ReaderStatus, list_readers


def pick(spec: str, readers: list[ReaderStatus]) -> ReaderStatus:
    """The reader ``spec`` names: an index, an exact name, or a unique part of a name."""
    if spec.isdigit():
        index = int(spec)
        if index < len(readers):
            return readers[index]
        raise InputError(f"no reader number {index}; `lpa readers` lists {len(readers)}")
    exact = [r for r in readers if r.name == spec]
    if exact:
        return exact[0]
    partial = [r for r in readers if spec.lower() in r.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise InputError(f"no reader matches {spec!r}; `lpa readers` lists them")
    raise InputError(f"{spec!r} matches {len(partial)} readers: {'; '.join(r.name for r in partial)}")


def open_reader(spec: str | None, aids: tuple[bytes, ...], note: Callable[[str], None] = lambda m: None) -> PcscTransport:
    """The ``pcsc[:reader]`` device: the reader ``spec`` names, or the only one holding an eUICC."""
    readers = list_readers()
    if not readers:
        raise TransportError("no card reader found: plug one in (or use --sim)")
    if spec is not None:
        return PcscTransport(pick(spec, readers).name)
    with_card = [r for r in readers if r.card_present]
    if not with_card:
        raise TransportError(f"no card in {'the reader' if len(readers) == 1 else 'any reader'} "
                             f"({'; '.join(r.name for r in readers)}): insert the eUICC")
    if len(with_card) == 1:
        return PcscTransport(with_card[0].name)
    candidates = []
    for reader in with_card:
        try:
            transport = PcscTransport(reader.name)
        except TransportError as error:
            note(f"skipping reader {reader.name!r}: {error}")
            continue
        if _answers_isdr(transport, aids):
            candidates.append(transport)
        else:
            note(f"skipping reader {reader.name!r}: its card has no ISD-R")
            transport.close()
    if len(candidates) == 1:
        return candidates[0]
    for transport in candidates:
        transport.close()
    if not candidates:
        raise TransportError("no reader holds an eUICC (or all are in use): insert it, or name one with --reader")
    raise InputError("several readers hold an eUICC; choose one with --reader: "
                     + "; ".join(t.name for t in candidates))


def _answers_isdr(transport: PcscTransport, aids: tuple[bytes, ...]) -> bool:
    """SELECT each ISD-R AID on the basic channel, then partial SELECT: does this card have one?"""
    return bool(list_isdrs(transport, aids))


def describe_readers(aids: tuple[bytes, ...]) -> list[dict[str, object]]:
    """Every reader with what is in it, probing cards for an ISD-R (for `lpa readers`)."""
    described = []
    for reader in list_readers():
        entry = reader.to_json()
        if not reader.card_present:
            entry.update(isEuicc=None, card="no card")
        elif reader.in_use:
            entry.update(isEuicc=None, card="in use by another program")
        else:
            try:
                transport = PcscTransport(reader.name)
            except TransportError:
                entry.update(isEuicc=None, inUse=True, card="in use by another program")
            else:
                with transport:
                    found = list_isdrs(transport, aids)
                card = "card without ISD-R (not an eUICC)" if not found else "eUICC" if len(found) == 1 else \
                    f"eUICC with {len(found)} instances (--euicc 0-{len(found) - 1})"
                entry.update(isEuicc=bool(found), card=card, isdrAids=[aid.hex().upper() for aid in found])
        described.append(entry)
    return described
