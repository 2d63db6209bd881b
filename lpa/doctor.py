"""`lpa doctor`: why the card is not reached, and what to do; one finding per check.

Most failures around an LPA are the environment, not the protocol: pcscd not
running, a reader held by another program, a card without an ISD-R (SGP.22
2.2.3) or with it at another AID, a modem's port held by ModemManager or not
readable by the user, a CI the card trusts that lpa has no certificate for
(SGP.22 4.5.2.1), a clock so wrong that TLS to every SM-DP+ fails, a name
that does not resolve. :func:`diagnose` checks them in that order and returns
:class:`Finding` values; the CLI only prints them. Nothing leaves the machine
without ``online``.

Each check reads its surroundings through :class:`Environment`, so that tests
can put pcscd's socket elsewhere, set the clock, list fake serial ports or
be a user without root.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from . import es10
from .apdu import list_isdrs, vendor_of
from .ci import ci_name
from .devices import open_device
from .errors import InputError, LpaError, ServerError, TransportError
from .paths import data_dir
from .session import Session
from .transport import Transport
from .trust import anchors

OK, WARNING, BLOCKER = "ok", "warning", "blocker"

#: Where pcsc-lite's clients find pcscd (PCSCLITE_CSOCK_NAME overrides it, for pcscd and lpa alike).
PCSCD_SOCKET = "/run/pcscd/pcscd.comm"

#: Below this much free non-volatile memory a profile (tens of KiB) may not fit.
LOW_MEMORY = 32 * 1024

#: The SM-DP+ and SM-DS port when an address names none (SGP.22 6.1: HTTPS).
HTTPS_PORT = 443

#: A server's clock and the local one may differ this much before it is worth saying.
CLOCK_SKEW = 300

#: Programs known to hold a smart card reader for long (named when a reader is held).
CARD_HOLDERS = ("scdaemon", "gpg-agent", "pcsc_scan", "opensc-tool", "lpac", "lpa", "pySim-shell", "firefox",
                "chrome", "chromium")


@dataclass(frozen=True)
class Finding:
    """One check's result: ``status`` is ok, warning or blocker; ``action`` what to do next."""

    check: str
    status: str
    message: str
    action: str = ""
    #: The exit code `lpa doctor` ends with when this is the first blocker (EXIT_CODES).
    exit_code: int = 0

    def line(self) -> str:
        """``ok|warn|FAIL  <check>: <message>; <action>``."""
        mark = {OK: "ok  ", WARNING: "warn", BLOCKER: "FAIL"}[self.status]
        return f"{mark}  {self.check}: {self.message}" + (f"; {self.action}" if self.action else "")

    def to_json(self) -> dict[str, object]:
        return {"check": self.check, "status": self.status, "message": self.message, "action": self.action or None,
                "exitCode": self.exit_code}


def ok(check: str, message: str, action: str = "") -> Finding:
    return Finding(check, OK, message, action)


def warning(check: str, message: str, action: str = "") -> Finding:
    return Finding(check, WARNING, message, action)


def blocker(check: str, message: str, action: str, exit_code: int) -> Finding:
    return Finding(check, BLOCKER, message, action, exit_code)


@dataclass
class Report:
    """Every finding, in the order checked."""

    findings: list[Finding]

    @property
    def exit_code(self) -> int:
        """0 when lpa can work, else the exit code of the first blocker."""
        return next((f.exit_code for f in self.findings if f.status == BLOCKER), 0)

    def to_json(self) -> dict[str, Any]:
        return {"canWork": self.exit_code == 0, "exitCode": self.exit_code,
                "findings": [f.to_json() for f in self.findings]}


def _which(program: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/local/sbin"])
    return shutil.which(program, path=path)


def _serial_ports() -> list[str] | None:
    """pyserial's list of serial ports, None when pyserial is not installed."""
    from importlib.util import find_spec

    if find_spec("serial") is None:
        return None
    from .transport.at import serial_ports

    return serial_ports()


#: OpenSSL's X509_V_FLAG_NO_CHECK_TIME (x509_vfy.h), which Python's ssl module does not name.
_NO_CHECK_TIME = 0x200000


def _server_date(host: str, port: int, timeout: float, cadata: str) -> datetime | None:
    """The Date an HTTPS server's answer to HEAD / carries (RFC 9110 6.6.1), None if it sends none.

    The connection is verified as lpa's own are: the chain up to ``cadata`` (the CI roots the card
    names and --ca-file, :mod:`lpa.trust`) and the host name. Only the certificates' validity
    period is left unchecked, since the point is to learn the time when a wrong clock would make
    every handshake fail; nothing is sent but the request line.
    """
    import http.client
    import ssl
    from email.utils import parsedate_to_datetime

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED by default
    context.load_verify_locations(cadata=cadata)
    context.verify_flags |= _NO_CHECK_TIME
    connection = http.client.HTTPSConnection(host.strip("[]"), port, timeout=timeout, context=context)
    try:
        connection.request("HEAD", "/")
        date = connection.getresponse().getheader("Date")
    finally:
        connection.close()
    if not date:
        return None
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class Environment:
    """What the checks read of the machine; each part replaceable in tests."""

    #: The time now, aware (UTC).
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    #: pcscd's socket; None: PCSCLITE_CSOCK_NAME, else :data:`PCSCD_SOCKET`.
    pcscd_socket: str | None = None
    #: The pcscd program's path, None when it is not installed.
    pcscd_program: Callable[[], str | None] = lambda: _which("pcscd")
    #: The serial ports to check; None when pyserial is missing.
    serial_ports: Callable[[], list[str] | None] = _serial_ports
    #: The user whose permissions count, and their groups.
    uid: int = field(default_factory=os.geteuid)
    gids: frozenset[int] = field(default_factory=lambda: frozenset([os.getegid(), *os.getgroups()]))
    #: /proc, where the holders of a device are found (each process's fd links).
    proc: Path = Path("/proc")
    #: Resolve a name (socket.getaddrinfo's signature).
    resolve: Callable[..., Any] = lambda *args, **kwargs: socket.getaddrinfo(*args, **kwargs)
    #: The Date a server at (host, port) sends, given a time-out.
    server_date: Callable[[str, int, float, str], datetime | None] = _server_date
    #: Seconds each network check may take.
    timeout: float = 3.0

    def socket_path(self) -> str:
        return self.pcscd_socket or os.environ.get("PCSCLITE_CSOCK_NAME") or PCSCD_SOCKET


def diagnose(device: str, aids: tuple[bytes, ...], *, online: bool = False, env: Environment | None = None,
             mss: int | None = None, logical_channel: bool = False, ca_files: tuple[str, ...] = (),
             note: Callable[[str], None] = lambda message: None) -> Report:
    """Check what lpa needs to work with ``device`` (``KIND[:ARG]``, :mod:`lpa.devices`), in order:
    the PC/SC service, readers, modems, the card, trust anchors, the clock, and with ``online``
    the servers; then the pending notifications."""
    env = env or Environment()
    kind, _, argument = device.partition(":")
    findings: list[Finding] = []
    transport: Transport | None = None
    if kind == "pcsc":
        findings += check_pcscd(env)
        if not _blocked(findings):
            found, transport = check_readers(argument or None, aids, env)
            findings += found
        findings += check_modems(env)
    else:
        findings.append(ok("PC/SC", f"not used (--device {kind})"))
        if kind == "at":
            findings += check_modems(env, port=argument.partition("@")[0] or None)
        if not _blocked(findings):
            try:
                transport = open_device(device, aids, note)
            except LpaError as error:
                findings.append(blocker("card", str(error), _card_action(kind), error.exit_code))
    card: CardFacts | None = None
    if transport is not None:
        found_card, card = check_card(transport, aids, mss=mss, logical_channel=logical_channel, note=note)
        findings += found_card
    if card is not None:
        findings += check_trust(card.ci_key_ids, ca_files)
    findings += check_clock(env)
    if card is not None:
        if online:
            findings += check_servers(card.servers(), env, anchors(card.ci_key_ids, ca_files).pem)
        findings += check_notifications(card)
    elif online:
        findings.append(warning("servers", "not checked: no card to read the SM-DP+ and SM-DS addresses from"))
    return Report(findings)


def _blocked(findings: list[Finding]) -> bool:
    return any(f.status == BLOCKER for f in findings)


def _card_action(kind: str) -> str:
    return {"sim": "check the --sim-state file", "replay": "check the recording (lpa --replay FILE list)",
            "at": "check the port (lpa readers --modems)"}.get(kind, "see `lpa readers`")


# -- the PC/SC service -------------------------------------------------------------------------


def check_pcscd(env: Environment) -> list[Finding]:
    """pcscd's socket present and accepting a connection, and its version (`pcscd --version`)."""
    path = env.socket_path()
    program = env.pcscd_program()
    if not os.path.exists(path):
        if program is None:
            return [blocker("pcscd", f"not installed (no pcscd program, no socket {path})",
                            "install it: apt install pcscd (Debian, Ubuntu), dnf install pcsc-lite (Fedora), "
                            "then systemctl start pcscd", 4)]
        return [blocker("pcscd", f"not running (no socket {path})",
                        "start it: systemctl start pcscd.socket pcscd (or run pcscd as root)", 4)]
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(2.0)
    try:
        client.connect(path)
    except OSError as error:
        return [blocker("pcscd", f"does not answer on {path} ({error.strerror or error})",
                        "restart it: systemctl restart pcscd (a stale socket stays after pcscd crashed)", 4)]
    finally:
        client.close()
    version = _pcscd_version(program)
    return [ok("pcscd", f"running ({path})" + (f", {version}" if version else ""))]


def _pcscd_version(program: str | None) -> str | None:
    """The first line of `pcscd --version` ("pcsc-lite version 2.0.0."), None when unavailable."""
    if program is None:
        return None
    try:
        answer = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=2,
                                stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (answer.stdout or answer.stderr).strip().splitlines()
    return first[0].rstrip(".") if first else None


# -- readers -----------------------------------------------------------------------------------


def check_readers(spec: str | None, aids: tuple[bytes, ...],
                  env: Environment) -> tuple[list[Finding], Transport | None]:
    """Each reader: present, held, holding a card, which card answers SELECT ISD-R and at which AID.

    Returns the findings and the transport of the one eUICC (connected), if exactly one.
    """
    from .readers import pick
    from .transport.pcsc import PcscTransport, list_readers

    try:
        readers = list_readers()
    except TransportError as error:
        return [blocker("readers", str(error), "see the pcscd line above", 4)], None
    if not readers:
        return [blocker("readers", "no card reader found",
                        "plug one in; a reader that stays unlisted needs its driver (CCID readers: apt install "
                        "libccid; then systemctl restart pcscd)", 4)], None
    if spec is not None:
        try:
            readers = [pick(spec, readers)]
        except InputError as error:
            return [blocker("readers", str(error), "`lpa readers` lists them", 2)], None
    findings: list[Finding] = []
    euiccs: list[tuple[str, Transport]] = []
    held = without_isdr = 0
    for reader in readers:
        what = f"reader {reader.index} {reader.name!r}"
        if not reader.card_present:
            findings.append(ok("readers", f"{what}: no card"))
            continue
        transport: Transport | None = None
        if not reader.in_use:
            try:
                transport = PcscTransport(reader.name)
            except TransportError:
                pass  # held after all (SCARD_E_SHARING_VIOLATION), or gone
        if transport is None:
            held += 1
            findings.append(warning("readers", f"{what}: held by another program", _holder_hint(env)))
            continue
        found = list_isdrs(transport, aids)  # the known AIDs, then partial SELECT
        aid = found[0] if found else None
        if aid is None:
            without_isdr += 1
            transport.close()
            findings.append(ok("readers", f"{what}: a card without an ISD-R (not an eUICC: a bank card, a "
                                          "YubiKey, a plain SIM)"))
            continue
        findings.append(ok("readers", f"{what}: an eUICC, ISD-R at {aid.hex().upper()} ({vendor_of(aid)})"
                                      + (f", {len(found)} eUICC instances (--euicc N)" if len(found) > 1 else "")))
        euiccs.append((reader.name, transport))
    if len(euiccs) == 1:
        return findings, euiccs[0][1]
    for _, transport in euiccs:
        transport.close()
    if euiccs:
        findings.append(blocker("readers", f"{len(euiccs)} readers hold an eUICC",
                                "choose one with --reader (an index or part of the name)", 2))
        return findings, None
    action = ("close the program holding the reader" if held else
              "insert the eUICC; if it is one, it may use another ISD-R AID: give it with --aid" if without_isdr else
              "insert the eUICC")
    findings.append(blocker("readers", "no reader holds an eUICC lpa can use", action, 4))
    return findings, None


def _holder_hint(env: Environment) -> str:
    """What to do about a held reader, naming the known card-holding programs that run."""
    me = str(os.getpid())
    running = sorted({name for pid, name in _processes(env.proc) if name in CARD_HOLDERS and pid != me})
    names = f" ({', '.join(running)} running)" if running else ""
    return f"close the other program{names}: another lpa, gpg's scdaemon (gpgconf --kill scdaemon), a browser"


def _processes(proc: Path) -> list[tuple[str, str]]:
    """(pid, command name) of every process this user can see."""
    found = []
    try:
        entries = list(proc.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.name.isdigit():
            try:
                found.append((entry.name, (entry / "comm").read_text().strip()))
            except OSError:
                continue
    return found


# -- modems ------------------------------------------------------------------------------------


def check_modems(env: Environment, port: str | None = None) -> list[Finding]:
    """Serial ports (pyserial's list, or the one ``port`` lpa is to use): who holds each
    (ModemManager, another process, through /proc/*/fd) and whether this user may open it."""
    ports = [port] if port else env.serial_ports()
    if ports is None:
        return [ok("modems", "not checked: pyserial is not installed",
                   "for an eUICC in a modem install the modem extra (pip install '.[modem]')")]
    if not ports:
        return [ok("modems", "no serial port")]
    holders = _holders(env.proc, ports)
    findings = []
    for path in ports:
        used = path == port
        if not os.path.exists(path):
            findings.append(blocker("modems", f"{path}: no such port", "`lpa readers --modems` lists the modems' "
                                    "ports (a modem's AT port is often /dev/ttyUSB2 or /dev/ttyACM0)", 4))
            continue
        held = holders.get(os.path.realpath(path), [])
        if any(name == "ModemManager" for _, name in held):
            findings.append(warning("modems", f"{path}: held by ModemManager",
                                    "its AT commands and lpa's would mix: systemctl stop ModemManager while lpa "
                                    "works, or make it leave the port (udev ID_MM_PORT_IGNORE=1)"))
        elif held:
            who = ", ".join(f"{name} (pid {pid})" for pid, name in held)
            findings.append(warning("modems", f"{path}: open in {who}",
                                    "close that program, or answers will go to it"))
        if not may_open(path, env.uid, env.gids):
            group = _group_of(path)
            action = (f"add the user to group {group} (usermod -aG {group} $USER, then log in again)" if group
                      else "ask for read and write access to it")
            if used:
                findings.append(blocker("modems", f"{path}: this user may not read and write it", action, 4))
            else:
                findings.append(warning("modems", f"{path}: this user may not read and write it", action))
        elif not held:
            findings.append(ok("modems", f"{path}: free, readable and writable"))
    return findings


def may_open(path: str, uid: int, gids: Iterable[int]) -> bool:
    """May the user ``uid`` (in groups ``gids``) read and write ``path``?

    For the process's own user :func:`os.access` answers (it knows ACLs, such as logind's);
    for another user (tests run as root) the owner, group and other bits are read.
    """
    if uid == 0:
        return True
    if uid == os.geteuid():
        return os.access(path, os.R_OK | os.W_OK)
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_uid == uid:
        return st.st_mode & 0o600 == 0o600
    if st.st_gid in set(gids):
        return st.st_mode & 0o060 == 0o060
    return st.st_mode & 0o006 == 0o006


def _group_of(path: str) -> str | None:
    import grp

    try:
        gid = os.stat(path).st_gid
        return grp.getgrgid(gid).gr_name if gid else None
    except (OSError, KeyError):
        return None


def _holders(proc: Path, ports: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Each port (real path) -> the (pid, name) of the processes with it open (/proc/PID/fd links)."""
    wanted = {os.path.realpath(p) for p in ports}
    found: dict[str, list[tuple[str, str]]] = {}
    for pid, name in _processes(proc):
        try:
            links = list((proc / pid / "fd").iterdir())
        except OSError:
            continue
        for link in links:
            try:
                target = os.readlink(link)
            except OSError:
                continue
            if target in wanted and (pid, name) not in found.get(target, []):
                found.setdefault(target, []).append((pid, name))
    return found


# -- the card ----------------------------------------------------------------------------------


@dataclass
class CardFacts:
    """What the card checks learnt, for the checks after them."""

    ci_key_ids: tuple[str, ...]
    default_dp: str | None
    root_ds: str | None
    notifications: list[es10.NotificationMetadata]

    def servers(self) -> list[tuple[str, str]]:
        """(role, address) of the servers lpa would talk to, each once."""
        found: list[tuple[str, str]] = []
        for role, address in [("default SM-DP+", self.default_dp), ("root SM-DS", self.root_ds),
                              *[("notification SM-DP+", n.address) for n in self.notifications]]:
            if address and address not in [a for _, a in found]:
                found.append((role, address))
        return found


def check_card(transport: Transport, aids: tuple[bytes, ...], *, mss: int | None = None,
               logical_channel: bool = False,
               note: Callable[[str], None] = lambda message: None) -> tuple[list[Finding], CardFacts | None]:
    """The eUICC: ISD-R selected (SGP.22 2.2.3), its SGP.22 version and free memory (ES10b.GetEUICCInfo,
    EUICCInfo1 and EUICCInfo2, 5.7.8), its addresses (ES10a.GetEuiccConfiguredAddresses, 5.7.3) and
    pending notifications (ES10b.ListNotification, 5.7.9)."""
    try:
        session = Session(transport, mss=mss, note=note, logical_channel=logical_channel)
        session.aids = aids
        with session:
            channel = session.channel
            eid = es10.get_eid(channel)
            info1 = es10.get_euicc_info1(channel)
            info2 = es10.get_euicc_info2(channel).fields
            addresses = es10.get_euicc_configured_addresses(channel)
            pending = es10.list_notification(channel)
            aid = channel.aid
    except LpaError as error:
        action = ("it is not an eUICC, or its ISD-R is at another AID: give that with --aid"
                  if "ISD-R" in str(error) else "try again; `lpa -v info` shows the exchange")
        return [blocker("card", str(error), action, error.exit_code)], None
    findings = [ok("card", f"eUICC {eid}, ISD-R at {aid.hex().upper()} ({vendor_of(aid)})")]
    svn = str(info2.get("svn") or info1.svn)
    if not svn.split(".")[0].isdigit() or int(svn.split(".")[0]) < 2:
        findings.append(warning("card", f"SGP.22 v{svn}", "lpa implements v2.2; a v1 card may refuse its requests"))
    else:
        findings.append(ok("card", f"SGP.22 v{svn}"))
    memory = info2.get("extCardResource")
    free = memory.get("freeNonVolatileMemory") if isinstance(memory, dict) else None
    if free is None:
        findings.append(warning("card", "free memory not reported (no extCardResource in EUICCInfo2)"))
    elif free < LOW_MEMORY:
        findings.append(warning("card", f"free memory {free} bytes", "a profile needs tens of KiB: delete one "
                                "you no longer use before a download"))
    else:
        findings.append(ok("card", f"free memory {free} bytes"))
    return findings, CardFacts(info1.ci_pkid_verification, addresses.default_dp_address or None,
                               addresses.root_ds_address or None, pending)


def check_trust(key_ids: Iterable[str], ca_files: tuple[str, ...] = ()) -> list[Finding]:
    """The card's CI key identifiers (euiccCiPKIdListForVerification, SGP.22 4.5.2.1) against the
    certificates lpa ships in certs/ (named by key identifier)."""
    key_ids = tuple(key_ids)
    if not key_ids:
        return [warning("trust anchors", "the card names no CI key", "it cannot authenticate any SM-DP+")]
    certs = Path(data_dir("certs"))
    given = _key_ids_in(ca_files)
    findings = []
    for key_id in key_ids:
        name = ci_name(key_id)
        if name and (certs / f"{key_id.lower()}.pem").exists():
            findings.append(ok("trust anchors", f"CI {key_id} ({name})"))
        elif key_id.lower() in given:
            findings.append(ok("trust anchors", f"CI {key_id}: from --ca-file {given[key_id.lower()]}"))
        else:
            findings.append(warning("trust anchors", f"CI {key_id}: unknown to lpa",
                                    "an SM-DP+ certified by it is refused: give its CI certificate with --ca-file"))
    return findings


def _key_ids_in(files: tuple[str, ...]) -> dict[str, str]:
    """Subject key identifier (hex) -> file, for each certificate in the --ca-file files."""
    from cryptography import x509

    found: dict[str, str] = {}
    for name in files:
        try:
            certificates = _quietly(x509.load_pem_x509_certificates, Path(name).read_bytes())
        except (OSError, ValueError):
            continue
        for certificate in certificates:
            try:
                ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            found[ski.hex()] = name
    return found


def _quietly(load: Callable[[bytes], Any], data: bytes) -> Any:
    """Load certificates without cryptography's warnings (some GSMA test CIs have a negative serial)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(data)


# -- the clock ---------------------------------------------------------------------------------


def check_clock(env: Environment) -> list[Finding]:
    """The clock against the validity of the CI certificates lpa ships (certs/).

    A clock before the newest certificate's notBefore is wrong for certain (that certificate
    exists, so that date has passed) and TLS to an SM-DP+ whose chain is younger fails: a
    blocker. After the earliest notAfter, one CI has expired, which may be true; after the
    latest, every one has, which means the clock is ahead.
    """
    from cryptography import x509

    now = env.now()
    validity = []
    for path in sorted(Path(data_dir("certs")).glob("*.pem")):
        try:
            cert = _quietly(x509.load_pem_x509_certificate, path.read_bytes())
        except ValueError:
            continue
        subject = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        validity.append((cert.not_valid_before_utc, cert.not_valid_after_utc,
                         str(subject[0].value) if subject else path.stem))
    if not validity:
        return [warning("clock", f"{now:%Y-%m-%d %H:%M} UTC, not checked: no certificate in certs/")]
    shown = f"{now:%Y-%m-%d %H:%M} UTC"
    newest = max(validity, key=lambda v: v[0])
    if now < newest[0]:
        return [blocker("clock", f"{shown} is before {newest[2]} was issued ({newest[0]:%Y-%m-%d}): the clock is "
                                 "behind", "set it (timedatectl set-ntp true); TLS to the SM-DP+ fails until then",
                        5)]
    latest = max(validity, key=lambda v: v[1])
    if now > latest[1]:
        return [blocker("clock", f"{shown} is after every CI certificate lpa ships expired ({latest[1]:%Y-%m-%d}): "
                                 "the clock is ahead", "set it (timedatectl set-ntp true)", 5)]
    expired = [v for v in validity if now > v[1]]
    if expired:
        return [warning("clock", f"{shown}: {', '.join(v[2] for v in expired)} expired by then",
                        "if that is not so, the clock is ahead: set it (timedatectl set-ntp true)")]
    return [ok("clock", f"{shown}, within the validity of the {len(validity)} CI certificates")]


# -- servers (online) --------------------------------------------------------------------------


def check_servers(servers: list[tuple[str, str]], env: Environment, cadata: str) -> list[Finding]:
    """Each server: its name resolves, TCP reaches its port, and the Date it answers with over TLS
    verified against ``cadata`` is near the local clock (SGP.22 6.1: ES9+ and ES11 are HTTPS)."""
    if not servers:
        return [ok("servers", "the card names no default SM-DP+, root SM-DS or notification address")]
    findings = []
    for role, address in servers:
        what = f"{role} {address}"
        try:
            from .address import parse_address

            host, port = parse_address(address, role)
        except ServerError as error:
            findings.append(blocker("servers", error.reason, "correct it (lpa default-smdp ADDRESS)", 5))
            continue
        port = port or HTTPS_PORT
        try:
            resolved = env.resolve(host.strip("[]"), port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as error:
            findings.append(blocker("servers", f"{what}: the name does not resolve ({_reason(error)})",
                                    "check the network's DNS (resolvectl status); a name that never resolves is a "
                                    "wrong address (lpa default-smdp to change the default one)", 5))
            continue
        family, kind, proto, _, where = resolved[0]
        try:
            with socket.socket(family, kind, proto) as connection:
                connection.settimeout(env.timeout)
                connection.connect(where)
        except OSError as error:
            findings.append(blocker("servers", f"{what}: no TCP connection to {where[0]} port {port} "
                                               f"({_reason(error)})",
                                    "a firewall or a proxy? lpa needs HTTPS straight to the server", 5))
            continue
        findings.append(ok("servers", f"{what}: {where[0]} port {port} reached"))
        findings += _server_clock(what, host, port, env, cadata)
    return findings


def _server_clock(what: str, host: str, port: int, env: Environment, cadata: str) -> list[Finding]:
    try:
        date = env.server_date(host, port, env.timeout, cadata)
    except (OSError, ValueError) as error:
        return [warning("clock", f"{what} sent no date ({_reason(error)})")]
    if date is None:
        return [warning("clock", f"{what} sent no date")]
    skew = (env.now() - date).total_seconds()
    if abs(skew) > CLOCK_SKEW:
        return [warning("clock", f"the local clock is {_duration(skew)} {'ahead of' if skew > 0 else 'behind'} "
                                 f"{what}'s", "set it (timedatectl set-ntp true)")]
    return [ok("clock", f"within {CLOCK_SKEW // 60} minutes of {what}'s")]


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 7200:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def _reason(error: BaseException) -> str:
    return str(getattr(error, "strerror", None) or error or type(error).__name__)


# -- notifications -----------------------------------------------------------------------------


def check_notifications(card: CardFacts) -> list[Finding]:
    """Pending notifications (SGP.22 3.5) and the SM-DP+ addresses they go to."""
    if not card.notifications:
        return [ok("notifications", "none pending")]
    addresses = sorted({n.address for n in card.notifications})
    return [warning("notifications", f"{len(card.notifications)} pending, for {', '.join(addresses)}",
                    "send them: lpa notifications process")]
