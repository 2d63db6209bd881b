"""What the simulated eUICC remembers: profiles, notifications, identity.

The state is one JSON file, replaced atomically (write a temporary file,
fsync, rename) so that a process killed at any moment leaves either the old
or the new state, never half of one, and checked when loaded (types, at
most one enabled profile, sequence numbers). Every change is made under an
exclusive lock (fcntl, on a lock file beside it) held from load to save,
so that parallel `lpa --sim` commands and `lpa sim serve` lose nothing.
A lock file rather than SQLite: the state stays one readable JSON document
that tests and users can inspect and edit, and the atomic rename stays the
only way it changes. On first use it is seeded with a few realistic
profiles.
"""
from __future__ import annotations

import base64
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

try:
    import fcntl
except ImportError:  # Windows: no locking between processes
    fcntl = None  # type: ignore[assignment]

from ...encoding import ICON_TYPES, OPERATIONS, PPR_BITS, PROFILE_CLASSES, parse_json
from ...errors import InputError
from ...paths import read_regular, state_dir
from ..pki.testpki import TEST_EID

STATE_VERSION = 1

#: The largest state file read: a few profiles and notifications take a few kB.
MAX_STATE = 16 * 1024 * 1024

#: A 16x16 PNG (a green square), the icon of the seeded operational profile.
SEED_ICON = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR42mNQWOBAEmIY1TCqYfhqAAD5+QAQtyW8mAAAAABJRU5ErkJggg=="
)


def default_path() -> Path:
    """$LPA_SIM_STATE, else sim-euicc.json in the user's state directory."""
    return Path(os.environ.get("LPA_SIM_STATE") or os.path.join(state_dir(), "sim-euicc.json"))


@dataclass
class SimProfile:
    """A profile installed on the simulated eUICC."""

    iccid: str
    isdp_aid: str
    provider: str
    name: str
    profile_class: str = "operational"
    state: str = "disabled"
    nickname: str | None = None
    icon_type: str | None = None
    icon: str | None = None  # base64
    #: profileManagementOperation -> SM-DP+ address (notificationConfigurationInfo)
    notify: dict[str, str] = field(default_factory=dict)
    #: The SM-DP+ the profile was downloaded from: its install notification goes there.
    smdp_address: str = ""
    policy_rules: list[str] = field(default_factory=list)
    size: int = 24_000  # bytes of NVM the profile takes


@dataclass
class SimNotification:
    """A pending notification (SGP.22 3.5)."""

    seq_number: int
    operation: str
    address: str
    iccid: str
    isdp_aid: str
    transaction_id: str = ""  # hex, install only
    #: The signed PendingNotification (base64 DER), made once when it was recorded: a card
    #: returns the same bytes on every RetrieveNotificationsList.
    signed: str = ""


@dataclass
class SimState:
    """Everything the simulated eUICC keeps across power cycles."""

    eid: str = TEST_EID
    profiles: list[SimProfile] = field(default_factory=list)
    notifications: list[SimNotification] = field(default_factory=list)
    next_seq_number: int = 1
    next_isdp: int = 0x10
    default_dp_address: str = ""
    root_ds_address: str = "lpa.ds.gsma.com"
    memory: int = 512_000  # bytes of NVM for profiles
    #: Another eUICC identity: PEM texts of euicc_cert, eum_cert, euicc_key.
    identity: dict[str, str] | None = None
    #: Card behaviour, see lpa.sim.card.card.Quirks.
    quirks: dict[str, Any] = field(default_factory=dict)
    #: PEM texts of CI certificates SM-DP+ certificates may chain to, besides the lpa test CI.
    trusted_cis: list[str] = field(default_factory=list)

    def find(self, iccid: str | None = None, isdp_aid: str | None = None) -> SimProfile | None:
        for profile in self.profiles:
            if (iccid is not None and profile.iccid == iccid) or (
                isdp_aid is not None and profile.isdp_aid == isdp_aid
            ):
                return profile
        return None

    def enabled(self) -> SimProfile | None:
        return next((p for p in self.profiles if p.state == "enabled"), None)

    def allocate_isdp_aid(self) -> str:
        """A 16-byte ISD-P AID like real cards' (A0000005591010FFFFFFFF8900001000, ...1100)."""
        aid = f"A0000005591010FFFFFFFF89{self.next_isdp:06X}00"
        self.next_isdp += 1
        return aid

    def free_memory(self) -> int:
        return max(0, self.memory - sum(p.size for p in self.profiles))

    def add_notification(self, profile: SimProfile, operation: str,
                         transaction_id: str = "") -> SimNotification | None:
        """Record a notification if the profile asks for one (install: always, to its SM-DP+).

        The caller signs it (:meth:`lpa.sim.card.isdr.Isdr.sign_notification`).
        """
        address = profile.smdp_address if operation == "install" else profile.notify.get(operation)
        if address is None:
            return None
        notification = SimNotification(self.next_seq_number, operation, address, profile.iccid, profile.isdp_aid,
                                        transaction_id)
        self.notifications.append(notification)
        self.next_seq_number += 1
        return notification

    # -- persistence -----------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> "SimState":
        """The state a JSON document describes; ValueError naming the first thing wrong with it."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        data = dict(data)
        if data.pop("version", None) != STATE_VERSION:
            raise ValueError("unknown state file version")
        _check_types(cls, data, "", skip=("profiles", "notifications"))
        for name, kind in (("profiles", SimProfile), ("notifications", SimNotification)):
            items = data.get(name, [])
            if not isinstance(items, list):
                raise ValueError(f"{name} is not a list")
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    raise ValueError(f"{name}[{index}] is not an object")
                _check_types(kind, item, f"{name}[{index}].")
            data[name] = [kind(**item) for item in items]
        state = cls(**data)
        _check_values(state)
        enabled = [p.iccid for p in state.profiles if p.state == "enabled"]
        if len(enabled) > 1:
            raise ValueError(f"{len(enabled)} profiles are enabled ({', '.join(enabled)}); at most one may be")
        numbers = [n.seq_number for n in state.notifications]
        if len(set(numbers)) != len(numbers) or any(n >= state.next_seq_number for n in numbers):
            raise ValueError("notification sequence numbers repeat or are not below next_seq_number")
        return state


_TYPES = {"str": str, "int": int, "bool": bool, "dict": dict, "list": list, "None": type(None), "Any": object}


def _check_types(kind: type, data: dict[str, Any], where: str, skip: tuple[str, ...] = ()) -> None:
    """Every key of ``data`` is a field of dataclass ``kind`` holding a value of the declared type."""
    declared = {f.name: f.type for f in fields(kind)}
    for key, value in data.items():
        if key not in declared:
            raise ValueError(f"{where}{key} is not a known field")
        if key in skip:
            continue
        allowed = tuple(_TYPES[part.strip().split("[")[0]] for part in str(declared[key]).split("|"))
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ValueError(f"{where}{key} is {type(value).__name__}, not {declared[key]}")


def _check_values(state: SimState) -> None:
    """Every value means something to the card: names from the SGP.22 lists, digits and hex where the card
    encodes them, text within the sizes of the ASN.1 (SGP.22 5.7.15, 2.4a); ValueError names the first not."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(what)

    def texts(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    def hex_text(value: str, most: int) -> bool:
        return len(value) % 2 == 0 and len(value) <= 2 * most and all(c in "0123456789abcdefABCDEF" for c in value)

    need(state.eid.isascii() and state.eid.isdigit() and len(state.eid) == 32, "eid is not 32 digits")
    for name in ("next_seq_number", "next_isdp", "memory"):
        need(0 <= getattr(state, name) < 2**31, f"{name} is not a number from 0 to 2^31")
    need(state.next_isdp < 0x1000000, "next_isdp is larger than an ISD-P AID holds")
    need(texts(state.trusted_cis), "trusted_cis is not a list of PEM texts")
    need(state.identity is None or all(isinstance(v, str) for v in state.identity.values()),
         "identity is not PEM texts")
    for i, p in enumerate(state.profiles):
        where = f"profiles[{i}]"
        need(p.iccid.isascii() and p.iccid.isalnum() and 18 <= len(p.iccid) <= 20, f"{where}.iccid is not an ICCID")
        need(hex_text(p.isdp_aid, 16) and len(p.isdp_aid) >= 10, f"{where}.isdp_aid is not an AID in hex")
        for name, most in (("provider", 32), ("name", 64), ("nickname", 64), ("smdp_address", 255)):
            value = getattr(p, name)
            need(value is None or len(value.encode("utf-8", "surrogatepass")) <= most,
                 f"{where}.{name} is longer than {most} bytes")
        need(p.profile_class in PROFILE_CLASSES, f"{where}.profile_class is not one of {', '.join(PROFILE_CLASSES)}")
        need(p.state in ("enabled", "disabled"), f"{where}.state is not enabled or disabled")
        need(p.icon_type is None or p.icon_type in ICON_TYPES, f"{where}.icon_type is not one of {', '.join(ICON_TYPES)}")
        need(texts(p.policy_rules) and set(p.policy_rules) <= set(PPR_BITS),
             f"{where}.policy_rules is not a list of {', '.join(PPR_BITS)}")
        need(all(op in OPERATIONS and isinstance(a, str) for op, a in p.notify.items()),
             f"{where}.notify is not operations ({', '.join(OPERATIONS)}) to addresses")
        need(0 <= p.size < 2**31, f"{where}.size is not a number of bytes")
    for i, n in enumerate(state.notifications):
        where = f"notifications[{i}]"
        need(n.operation in OPERATIONS, f"{where}.operation is not one of {', '.join(OPERATIONS)}")
        need(0 <= n.seq_number < 2**31, f"{where}.seq_number is not a number from 0 to 2^31")
        need(n.iccid.isascii() and n.iccid.isalnum() and len(n.iccid) <= 20, f"{where}.iccid is not an ICCID")
        need(hex_text(n.isdp_aid, 16) and hex_text(n.transaction_id, 16), f"{where} has an AID or transaction ID "
                                                                           "that is not hex")
        need(len(n.address.encode("utf-8", "surrogatepass")) <= 255, f"{where}.address is longer than 255 bytes")


def seeded() -> SimState:
    """A fresh eUICC with four profiles: one enabled operational with an icon,
    two disabled operational ones (one protected by PPR2), one test profile."""
    state = SimState()
    for profile in (
        SimProfile(
            iccid="8944476500001234567", isdp_aid="", provider="Northwind Mobile", name="Northwind Unlimited",
            state="enabled", nickname="work", icon_type="png", icon=base64.b64encode(SEED_ICON).decode(),
            notify={op: "smdp.northwind.example" for op in ("install", "enable", "disable", "delete")},
            smdp_address="smdp.northwind.example",
        ),
        SimProfile(
            iccid="89470000000098765432", isdp_aid="", provider="Contoso Telecom", name="Contoso Travel 5GB",
            notify={op: "rsp.contoso.example" for op in ("install", "delete")},
            smdp_address="rsp.contoso.example",
        ),
        SimProfile(
            iccid="8901260123456789012", isdp_aid="", provider="Fabrikam Wireless", name="Fabrikam IoT M2M",
            notify={"install": "smdp.fabrikam.example"}, smdp_address="smdp.fabrikam.example",
            policy_rules=["ppr2"],
        ),
        SimProfile(
            iccid="89000123456789012341", isdp_aid="", provider="GSMA Test", name="Test Profile",
            profile_class="test", smdp_address="smdp.gsma-test.example",
        ),
    ):
        profile.isdp_aid = state.allocate_isdp_aid()
        state.profiles.append(profile)
    return state


def _wait_for_lock(file: Any, path: Path) -> None:
    """Take the lock of ``file``; on a terminal, say so while another process holds it."""
    import sys

    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    shown = sys.stderr.isatty()
    if shown:
        sys.stderr.write(f"\rwaiting for the simulated eUICC {path} (another lpa is using it) ...")
        sys.stderr.flush()
    try:
        fcntl.flock(file, fcntl.LOCK_EX)
    finally:
        if shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


class StateFile:
    """The state file of one simulated eUICC."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock_file: Any = None
        self._lock_depth = 0

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the state exclusively (other processes wait); re-entrant for this object."""
        if self._lock_depth == 0 and fcntl is not None:
            if self.path.exists() and not self.path.is_file():  # no lock file beside /dev/zero
                raise InputError(f"{self.path} is not a regular file, not a simulator state; give a regular file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(self.path.with_name(self.path.name + ".lock"), "a")
            _wait_for_lock(self._lock_file, self.path)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock_file is not None:
                self._lock_file.close()  # releases the lock
                self._lock_file = None

    def stamp(self) -> tuple[int, int] | None:
        """Modification time and size of the file: changes when another process saves."""
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_mtime_ns, info.st_size

    def load(self) -> SimState:
        """Read the state; seed and write it on first use."""
        try:
            return SimState.from_json(parse_json(read_regular(self.path, MAX_STATE, "a simulator state")))
        except InputError:
            if self.path.exists() or self.path.is_symlink():
                raise
            with self.locked():
                if self.path.exists():  # another process seeded it meanwhile
                    return self.load()
                state = seeded()
                self.save(state)
                return state
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"simulator state {self.path} is unreadable ({error}); `lpa sim reset` starts afresh"
            ) from None

    def save(self, state: SimState) -> None:
        """Replace the state file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(state.to_json(), f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
