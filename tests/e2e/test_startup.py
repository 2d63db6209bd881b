"""What a command imports: only what it uses (bench/run.py measures how long that takes).

Start-up is most of what a short command costs (README, Performance), so each
command of the start-up budget is pinned to the library parts it uses;
`--help` imports no library part at all, and `list` loads asn1tools' BER
and DER codecs but not its ASN.1 parser, pyparsing or other codecs, and
neither cryptography, requests, ssl, the simulator nor lpa web's Flask.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import require_pcscd

PROBE = """
import sys
sys.argv = ["lpa", *sys.argv[1:]]
from lpa.cli import main
try:
    main(prog_name="lpa")
except SystemExit:
    pass
modules = sorted(sys.modules)
import json
print(json.dumps(modules), file=sys.stderr)
"""

#: Modules no command that stays off the network imports.
HEAVY = ("pyparsing", "asn1tools.parser", "asn1tools.compiler", "asn1tools.codecs.per", "asn1tools.codecs.uper",
         "asn1tools.codecs.xer", "asn1tools.codecs.jer", "asn1tools.codecs.oer", "asn1tools.codecs.gser",
         "asn1tools.codecs.constraints_checker", "cryptography", "requests", "urllib3", "ssl", "lpa.es9p", "lpa.https",
         "lpa.trust", "lpa.sim.card.card", "lpa.sim.card.isdr", "hashlib", "tempfile",
         # lpa web's stack, imported only when `lpa web` runs
         "flask", "werkzeug", "jinja2", "cheroot", "lpa.web.app", "lpa.web.desk")


def imported(*args: str, env: dict[str, str] | None = None) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            env=env)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)


def test_help_imports_no_library_part():
    modules = imported("--help")
    assert "click" in modules
    assert not {"lpa.euicc", "lpa.es10", "lpa.codec", "lpa.apdu", "smartcard", "asn1tools"} & modules
    assert heavy(modules) == []
    # the plug-ins' lines come from lpa.plugins: listing them imports neither the simulator nor lpa web
    assert not [m for m in modules if m.startswith(("lpa.sim", "lpa.web"))]


def test_help_lists_each_plug_in_as_the_plug_in_describes_itself():
    import click

    from lpa.cli.base import MainGroup
    from lpa.plugins import COMMANDS, SHORT_HELP, load

    assert set(SHORT_HELP) == set(COMMANDS)
    group = MainGroup("lpa")
    with click.Context(group) as ctx:
        group._listing = True
        listed = {name: group.get_command(ctx, name) for name in COMMANDS}
    for name, module in COMMANDS.items():
        real = getattr(load(module), name)
        assert listed[name].get_short_help_str(200) == real.get_short_help_str(200), name


#: What each command of the issue's start-up budget must not import, beyond :data:`HEAVY`: the library parts
#: of other commands (recordings in tests/recordings, whose "# args:" line is the command).
NOT_NEEDED = {
    "list": {"lpa.es10.es10a", "lpa.es10.es10b", "lpa.operations.notifications", "lpa.operations.info",
             "lpa.cli.chip"},
    "info": {"lpa.operations.profiles", "lpa.operations.notifications", "lpa.cli.profiles"},
    "enable-by-aid": {"lpa.es10.es10a", "lpa.operations.info", "lpa.cli.chip"},
    "delete": {"lpa.es10.es10a", "lpa.operations.info", "lpa.cli.chip"},
}
#: The command modules of lpa.cli no command of the start-up budget imports (lpa.cli.COMMANDS: each
#: command's module is imported when it runs).
OTHER_COMMANDS = {"lpa.cli.download", "lpa.cli.notifications", "lpa.cli.doctor", "lpa.cli.reset"}


def replayed(name: str) -> set[str]:
    """What the command of recording ``name`` (its "# args:" line) imports, replayed."""
    recording = Path(__file__).parents[1] / "recordings" / f"{name}.apdu"
    args = next(line.split(":", 1)[1].split() for line in recording.read_text().splitlines()
                if line.startswith("# args:"))
    imported("--replay", str(recording), *args)  # the first run may compile the ASN.1 module
    return imported("--replay", str(recording), *args)


@pytest.mark.parametrize("name", NOT_NEEDED)
def test_each_command_imports_only_the_library_parts_it_uses(name):
    modules = replayed(name)
    assert "lpa.es10.es10c" in modules and heavy(modules) == []
    assert (NOT_NEEDED[name] | OTHER_COMMANDS) & modules == set()


def test_every_command_is_where_lpa_cli_says():
    import importlib

    from lpa.cli import COMMANDS

    for name, module in COMMANDS.items():
        assert name in [command.name for command in importlib.import_module(f"lpa.cli.{module}").COMMANDS], name


def test_es10_names_live_where_the_package_says():
    import importlib

    from lpa import es10

    for name, module in es10._WHERE.items():
        assert hasattr(importlib.import_module(f"lpa.es10.{module}"), name), name


GC_PROBE = """
import gc, sys, click, lpa.cli
@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def main(args):
    print(gc.isenabled())
lpa.cli.main = main
sys.argv = ["lpa", *sys.argv[1:]]
lpa.cli.run()
"""


@pytest.mark.parametrize("args, collecting", [(["list"], False), (["--reader", "0", "delete", "x"], False),
                                              (["web"], True), (["sim", "serve"], True)])
def test_the_garbage_collector_is_off_except_for_the_serving_commands(args, collecting):
    result = subprocess.run([sys.executable, "-c", GC_PROBE, *args], capture_output=True, text=True)
    assert result.stdout.strip() == str(collecting), result.stderr


def test_only_version_reads_the_installed_versions():
    assert {"importlib.metadata", "lpa.about"} <= imported("--version")
    assert not {"importlib.metadata", "lpa.about"} & imported("--help")


def test_list_from_a_recording_imports_the_codecs_but_not_the_asn1_parser():
    recording = Path(__file__).parents[1] / "recordings" / "list.apdu"
    imported("--replay", str(recording), "--json", "list")  # the first run compiles the ASN.1 module
    modules = imported("--replay", str(recording), "--json", "list")
    assert {"lpa.es10", "asn1tools.codecs.ber", "asn1tools.codecs.der"} <= modules
    assert heavy(modules) == []
    assert "smartcard" not in modules  # a recording needs no PC/SC


#: Standard library modules that cost the start-up budget a millisecond or more each (README, Performance)
#: and that none of its commands needs on a reader (without --json): paths are os.path strings, records
#: NamedTuples, the ASN.1 cache is read with the C unpickler, icons are base64-encoded with binascii, the CIs'
#: names are in lpa.ci and completion's cache is lines of text.
SLOW_STDLIB = ("pathlib", "dataclasses", "pickle", "base64", "urllib", "ipaddress", "json")


@pytest.mark.pcsc
def test_the_start_up_budget_s_commands_on_a_reader_import_no_simulator_network_parser_or_slow_stdlib(state_path):
    require_pcscd()
    from lpa.sim.bridges.pcscd import VirtualCard, running_pcscd

    with running_pcscd(), VirtualCard(state_path) as card:
        imported("--reader", card.reader, "list")  # the first run may compile the ASN.1 module
        for command in (["list"], ["info"], ["enable", "--no-notify", "89470000000098765432"],
                        ["delete", "--yes", "--no-notify", "89000123456789012341"]):
            modules = imported("--reader", card.reader, *command)
            assert {"smartcard.scard", "asn1tools.codecs.ber", "lpa.es10.es10c"} <= modules, command
            assert heavy(modules) == [], command
            assert [m for m in SLOW_STDLIB if m in modules] == [], command
        assert [p.iccid for p in card.state().profiles if p.state == "enabled"] == ["89470000000098765432"]
        assert "89000123456789012341" not in [p.iccid for p in card.state().profiles]


COMMANDS = ("info", "list-icons", "enable-by-aid", "disable-with-reset", "delete", "nickname-segmented",
            "notifications-list")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_card_command_imports_no_parser_network_or_simulator(name):
    modules = replayed(name)
    assert "lpa.es10" in modules and heavy(modules) == []
