"""Notifications carried to another machine: the export file, and the three steps that use it.

``lpa notifications export`` (at the card) writes pending notifications,
signed bytes and all, to a file without removing them; ``send`` (anywhere
with a network) delivers them and records in the same file which ones the
SM-DP+ acknowledged; ``remove --acknowledged`` (at the card again) removes
exactly those, after checking that the card still holds the same signed
bytes. Nothing leaves a card without an acknowledgement on record.

The file is JSON (format "lpa notifications", version 1)::

    {"format": "lpa notifications", "version": 1,
     "eid": "<32 digits>", "ciKeyIds": ["<hex, lower case>", ...],   # the card's CIs, for TLS
     "exportedAt": "<UTC, ISO 8601>",
     "notifications": [
       {"seqNumber": 3, "profileManagementOperation": "delete",
        "notificationAddress": "smdp.example.com", "iccid": "8944...",
        "pendingNotification": "<base64 of the signed DER>",
        "acknowledgedAt": null,            # set by send: when the SM-DP+ acknowledged it
        "lastError": null}]}               # set by send: why the last attempt failed

Every read validates it: the format and version, the types, and that the
listed metadata (sequence number, operation, address, ICCID) is what the
signed bytes say, so that a truncated or edited file is refused with a
line naming what is wrong. The signature itself is the SM-DP+'s to check.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .. import es10
from ..encoding import parse_json
from ..errors import InputError, LpaError, ServerError
from ..paths import read_regular
from ..session import Session

if TYPE_CHECKING:
    from ..https import HttpsClient

FORMAT = "lpa notifications"
VERSION = 1
#: The largest file read: a card holds a few dozen notifications of a few kB.
MAX_FILE = 4 * 1024 * 1024

_EID = re.compile(r"[0-9]{32}")
_KEY_ID = re.compile(r"(?:[0-9a-f]{2}){1,64}")


@dataclass(frozen=True)
class Entry:
    """One exported notification and what became of it."""

    notification: es10.PendingNotification
    acknowledged_at: str | None = None
    last_error: str | None = None

    @property
    def metadata(self) -> es10.NotificationMetadata:
        return self.notification.metadata

    def to_json(self) -> dict[str, object]:
        return {**self.metadata.to_json(), "pendingNotification": base64.b64encode(self.notification.der).decode(),
                "acknowledgedAt": self.acknowledged_at, "lastError": self.last_error}


@dataclass(frozen=True)
class Export:
    """The content of an export file."""

    eid: str
    ci_key_ids: tuple[str, ...]
    exported_at: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {"format": FORMAT, "version": VERSION, "eid": self.eid, "ciKeyIds": list(self.ci_key_ids),
                "exportedAt": self.exported_at, "notifications": [e.to_json() for e in self.entries]}

    def write(self, path: str | Path, *, overwrite: bool = True) -> None:
        """Write atomically (a temporary file renamed over ``path``); ``overwrite`` False refuses an existing file."""
        path = Path(path)
        if not overwrite and path.exists():
            raise InputError(f"{path} exists; choose another name or add --force to overwrite it")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_json(), f, indent=1, ensure_ascii=False)
                f.write("\n")
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


def read(path: str | Path) -> Export:
    """Read and validate an export file; InputError names the first defect."""
    path = Path(path)
    raw = read_regular(path, MAX_FILE, "a notification export")
    try:
        data = parse_json(raw)
    except ValueError as error:
        raise InputError(f"{path} is damaged or truncated, not a notification export ({error})") from None
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError, LpaError) as error:
        detail = f"no {error}" if isinstance(error, KeyError) else str(error)
        raise InputError(f"{path} is not a valid notification export: {detail}") from None


def _parse(data: object) -> Export:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"its format is not {FORMAT!r}")
    if data.get("version") != VERSION:
        raise ValueError(f"version {data.get('version')!r}; this lpa reads version {VERSION}")
    eid, key_ids, notifications = data["eid"], data["ciKeyIds"], data["notifications"]
    if not (isinstance(eid, str) and _EID.fullmatch(eid)):
        raise ValueError("eid is not 32 digits")
    if not (isinstance(key_ids, list) and all(isinstance(k, str) and _KEY_ID.fullmatch(k) for k in key_ids)):
        raise ValueError("ciKeyIds is not a list of hexadecimal key identifiers")
    if not isinstance(notifications, list):
        raise TypeError("notifications is not a list")
    entries = tuple(_entry(item, i) for i, item in enumerate(notifications))
    numbers = [e.metadata.seq_number for e in entries]
    if len(set(numbers)) != len(numbers):
        raise ValueError("a sequence number is listed twice")
    return Export(eid, tuple(key_ids), _timestamp(_text(data, "exportedAt"), "exportedAt"), entries)


def _entry(item: object, index: int) -> Entry:
    if not isinstance(item, dict):
        raise TypeError(f"notification #{index + 1} is not an object")
    try:
        der = base64.b64decode(_text(item, "pendingNotification"), validate=True)
    except binascii.Error:
        raise ValueError(f"notification #{index + 1}: pendingNotification is not base64") from None
    metadata = es10.pending_metadata(der)
    said = metadata.to_json()  # compared as JSON text: true is not 1, nor 1.0
    if json.dumps(said, sort_keys=True) != json.dumps({k: item.get(k) for k in said}, sort_keys=True):
        raise ValueError(f"notification #{index + 1} (seqNumber {item.get('seqNumber')!r}) does not say what its "
                         "signed bytes say: the file was changed")
    acknowledged, error = item.get("acknowledgedAt"), item.get("lastError")
    for name, value in (("acknowledgedAt", acknowledged), ("lastError", error)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"notification #{index + 1}: {name} is not text")
    if acknowledged is not None:
        _timestamp(acknowledged, f"notification #{index + 1}: acknowledgedAt")
    if error is not None and len(error) > 1000:
        raise ValueError(f"notification #{index + 1}: lastError is longer than 1000 characters")
    return Entry(es10.PendingNotification(metadata, der), acknowledged, error)


def _text(data: dict[str, object], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} is not text")
    return value


#: How the file writes a moment: UTC, to the second.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> str:
    return datetime.now(timezone.utc).strftime(_TIME_FORMAT)


def _timestamp(value: str, name: str) -> str:
    """``value`` if it is a moment as :func:`now` writes it; else ValueError naming ``name``."""
    try:
        datetime.strptime(value, _TIME_FORMAT)
    except ValueError:
        raise ValueError(f"{name} {value[:40]!r} is not a time as YYYY-MM-DDTHH:MM:SSZ") from None
    return value


# -- the three steps -----------------------------------------------------------------


def export(session: Session, seq_numbers: Iterable[int] | None = None) -> Export:
    """The pending notifications (all, or those named) of the card, signed bytes and all; nothing is removed."""
    ch = session.channel
    everything = es10.retrieve_notifications_list(ch)
    chosen = everything
    if seq_numbers is not None:
        wanted = set(seq_numbers)
        missing = wanted - {n.metadata.seq_number for n in everything}
        if missing:
            raise InputError(f"no pending notification {', '.join(map(str, sorted(missing)))} on this eUICC; "
                             "`lpa notifications list` shows them")
        chosen = [n for n in everything if n.metadata.seq_number in wanted]
    return Export(es10.get_eid(ch), session.ci_key_ids(), now(), tuple(Entry(n) for n in chosen))


@dataclass(frozen=True)
class Sent:
    """What `send` did with one entry."""

    entry: Entry
    delivered: bool
    error: str | None = None


def send(path: str | Path, client: HttpsClient, *, again: bool = False,
         progress: Callable[[int, int, Sent], None] = lambda done, total, sent: None) -> list[Sent]:
    """Deliver the entries of ``path`` not yet acknowledged (``again``: all), recording each outcome in the file
    as it comes, so that an interruption loses no acknowledgement."""
    from .. import es9p

    current = read(path)
    todo = [i for i, e in enumerate(current.entries) if again or e.acknowledged_at is None]
    results: list[Sent] = []
    for index in todo:
        entry = current.entries[index]
        try:
            es9p.handle_notification(client, entry.metadata.address, entry.notification.der)
        except ServerError as error:
            updated, sent = replace(entry, last_error=error.reason), Sent(entry, False, error.reason)
        else:
            updated, sent = replace(entry, acknowledged_at=now(), last_error=None), Sent(entry, True)
        entries = list(current.entries)
        entries[index] = updated
        current = replace(current, entries=tuple(entries))
        current.write(path)
        results.append(sent)
        progress(len(results), len(todo), sent)
    return results


@dataclass(frozen=True)
class Removal:
    """What `remove --acknowledged` did with one entry of the file."""

    entry: Entry
    removed: bool
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        return {**self.entry.metadata.to_json(), "removed": self.removed, "reason": self.reason}


def remove_acknowledged(session: Session, exported: Export) -> list[Removal]:
    """Remove from the card exactly the notifications the file records as acknowledged, each only if the
    card still holds the same signed bytes; the others are kept."""
    ch = session.channel
    eid = es10.get_eid(ch)
    if eid != exported.eid:
        raise InputError(f"the file was exported from eUICC {exported.eid}; this is {eid}")
    held = {n.metadata.seq_number: n.der for n in es10.retrieve_notifications_list(ch)}
    results = []
    for entry in exported.entries:
        seq = entry.metadata.seq_number
        if entry.acknowledged_at is None:
            results.append(Removal(entry, False, "not acknowledged" + (f" ({entry.last_error})"
                                                                       if entry.last_error else "")))
        elif seq not in held:
            results.append(Removal(entry, False, "no longer on the eUICC"))
        elif held[seq] != entry.notification.der:
            results.append(Removal(entry, False, "the eUICC holds other bytes under this number"))
        else:
            es10.remove_notification_from_list(ch, seq)
            results.append(Removal(entry, True))
    return results
