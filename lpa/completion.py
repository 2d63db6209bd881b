"""What shell completion offers: device kinds, reader names, and the ICCIDs and nicknames of the card.

Completion runs on every Tab press, so it must be quick and silent: the
profiles come from a short-lived cache the last command that read them wrote
(``$XDG_CACHE_HOME/lpa/profiles-<device>``, :func:`remember`), else from
the card if it answers within :data:`CARD_BUDGET` seconds
(ES10c.GetProfilesInfo, SGP.22 5.7.15), else nothing. Every failure is an
empty answer, never a message on the command line.
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Iterable

from .paths import cache_dir

#: How long a remembered list of profiles is used (seconds).
CACHE_SECONDS = 600
#: How long completion may wait for the card (or pcscd) when nothing is remembered.
CARD_BUDGET = 0.5
#: A cache file's first line, followed by the time it was written; then a line per profile with its
#: ICCID, state, nickname and name, separated by tabs. Lines, not JSON: `lpa list` writes the cache,
#: and importing json would cost it 2 ms (README, Performance).
_HEADER = "lpa-profiles 1"
#: The fields of a profile's line.
_FIELDS = ("iccid", "state", "nickname", "name")
#: The most of a cache file read: a card holds tens of profiles.
_LIMIT = 1 << 20


def cache_file(device: str) -> str:
    """The cache of the profiles of ``device`` (a ``KIND[:ARG]`` string, made a file name)."""
    name = "".join(c if c.isalnum() or c in "-." else "_" for c in device)[-120:]
    return os.path.join(cache_dir(), f"profiles-{name}")


def remember(device: str, profiles: Iterable[Any]) -> None:
    """Write what completion offers for ``device``'s profiles (ICCID, nickname, name, state); quietly."""
    lines = [f"{_HEADER} {time.time()!r}"]
    lines += ["\t".join(_field(getattr(p, name)) for name in _FIELDS) for p in profiles]
    path = cache_file(device)
    try:
        folder, name = os.path.split(path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        partial = os.path.join(folder, f".{name}.{os.getpid()}")
        with open(partial, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        os.replace(partial, path)
    except OSError:
        pass


def forget(device: str) -> None:
    """Drop the remembered profiles after a change to them (delete, nickname, download)."""
    try:
        os.unlink(cache_file(device))
    except OSError:
        pass


def remembered(device: str, now: float | None = None) -> list[dict[str, Any]] | None:
    """The remembered profiles if younger than :data:`CACHE_SECONDS`, else None."""
    try:
        with open(cache_file(device), encoding="utf-8", errors="replace", newline="\n") as file:
            header, *lines = file.read(_LIMIT).split("\n")
        header, _, written = header.rpartition(" ")
        age = (time.time() if now is None else now) - float(written)
    except (OSError, ValueError):
        return None
    if header != _HEADER or not 0 <= age <= CACHE_SECONDS:
        return None
    fields = (line.split("\t") for line in lines)
    return [{name: value or None for name, value in zip(_FIELDS, values)} for values in fields
            if len(values) == len(_FIELDS)]


def _field(value: str | None) -> str:
    """One field of a profile's line: tabs and line ends (only a card's name could hold them) made spaces."""
    return "" if value is None else value.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def within(budget: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result if it ends within ``budget`` seconds without an error, else None.

    It runs in a daemon thread: a card or pcscd that does not answer is left behind (the
    completing process ends right after).
    """
    import threading

    result: list[Any] = []

    def run() -> None:
        try:
            result.append(work())
        except Exception:  # completion says nothing, whatever the card or reader did
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(budget)
    return result[0] if result else None


def ask_card(device: str, aid: bytes | None = None) -> list[dict[str, Any]]:
    """The profiles, read from the card now (and remembered)."""
    from . import es10
    from .apdu import isdr_aids
    from .devices import open_device
    from .session import Session

    aids = isdr_aids(aid)
    with Session(open_device(device, aids, lambda message: None), aid=aid) as session:
        profiles = es10.get_profiles_info(session.channel)
    remember(device, profiles)
    return remembered(device) or []


def profiles(device: str, aid: bytes | None = None, budget: float = CARD_BUDGET) -> list[dict[str, Any]]:
    """The profiles to offer: remembered, else from the card within ``budget``, else none."""
    if device.startswith("replay:"):
        return remembered(device) or []
    found = remembered(device)
    if found is None:
        found = within(budget, lambda: ask_card(device, aid)) or []
    return found


def profile_choices(device: str, incomplete: str, *, nicknames: bool = True, aid: bytes | None = None,
                    budget: float = CARD_BUDGET) -> list[tuple[str, str]]:
    """(value, description) pairs starting with ``incomplete``: ICCIDs, and nicknames when asked."""
    choices = []
    for p in profiles(device, aid, budget):
        iccid, nickname = p.get("iccid"), p.get("nickname")
        what = " ".join(str(x) for x in (p.get("name"), f"({p.get('state')})" if p.get("state") else None) if x)
        if isinstance(iccid, str) and iccid.startswith(incomplete):
            choices.append((iccid, what + (f", nickname {nickname}" if nickname else "")))
        if nicknames and isinstance(nickname, str) and nickname.startswith(incomplete):
            choices.append((nickname, f"{iccid} {what}".strip()))
    return choices


def reader_names(incomplete: str, budget: float = CARD_BUDGET) -> list[str]:
    """PC/SC reader names starting with ``incomplete``, when pcscd answers within ``budget``."""
    if not os.path.exists(os.environ.get("PCSCLITE_CSOCK_NAME") or "/run/pcscd/pcscd.comm"):
        return []

    def names() -> list[str]:
        from .transport.pcsc import list_readers

        return [r.name for r in list_readers()]

    return [name for name in within(budget, names) or [] if name.lower().startswith(incomplete.lower())]


def device_choices(incomplete: str, kinds: Iterable[str]) -> list[str]:
    """``--device`` values: the kinds (``sim``, ``pcsc:``...), then what follows ``at:`` and ``pcsc:``."""
    kind, colon, rest = incomplete.partition(":")
    if not colon:
        return [k + ("" if k == "sim" else ":") for k in kinds if k.startswith(incomplete)]
    if kind == "at":
        import glob

        ports = sorted(glob.glob("/dev/ttyUSB*") + glob.glob("/dev/ttyACM*") + glob.glob("/dev/serial/by-id/*"))
        return [f"at:{p}" for p in ports if p.startswith(rest)]
    if kind == "pcsc":
        return [f"pcsc:{name}" for name in reader_names(rest)]
    return []
