"""Requests lpa refuses before anything that changes the card is sent: each with its message, exit 2,
and the card byte for byte as it was."""
from __future__ import annotations

import pytest

from helpers import CONTOSO, FABRIKAM, NORTHWIND

LOCKED = "8988247000000000009"  # added enabled with PPR1 where a test asks for it


@pytest.fixture
def locked(lpa):
    result = lpa("sim", "add-profile", "--iccid", LOCKED, "--provider", "Op", "--name", "Locked", "--smdp", "a.example",
                 "--enabled", "--ppr1")
    assert result.exit_code == 0, result.output


def refused(lpa, sim_state, *args):
    before = sim_state()
    result = lpa(*args)
    assert result.exit_code == 2, result.output
    assert sim_state() == before
    return result.output.strip().removeprefix("lpa: ")


@pytest.mark.parametrize("args, message", [
    (["enable", NORTHWIND], f"profile {NORTHWIND} is already enabled"),
    (["enable", "work"], f"profile {NORTHWIND} is already enabled"),
    (["disable", CONTOSO], f"profile {CONTOSO} is not enabled"),
    (["delete", "--yes", FABRIKAM],
     f"profile {FABRIKAM} may not be deleted: its profile policy rules (PPR2) forbid it"),
    (["delete", "--yes", "work"], f"profile {NORTHWIND} is enabled; disable it first (lpa disable {NORTHWIND}) or use --force"),
    (["delete", "--yes", "89000000000000000001"],
     "no profile with ICCID, ISD-P AID or nickname 89000000000000000001 on this eUICC; `lpa list` shows the profiles"),
    (["enable", "A0000005591010FFFFFFFF8900009900"],
     "no profile with ICCID, ISD-P AID or nickname A0000005591010FFFFFFFF8900009900 on this eUICC; "
     "`lpa list` shows the profiles"),
    (["notifications", "remove", "--yes", "7"], "no pending notification 7 on this eUICC"),
])
def test_refused_before_the_card_changes(lpa, sim_state, args, message):
    assert refused(lpa, sim_state, *args) == message


def test_a_profile_under_ppr1_is_never_disabled(lpa, sim_state, locked):
    assert refused(lpa, sim_state, "disable", LOCKED) == \
        f"profile {LOCKED} may not be disabled: its profile policy rules (PPR1) forbid it"
    assert refused(lpa, sim_state, "enable", CONTOSO) == \
        f"profile {LOCKED} is enabled and its policy (PPR1) forbids disabling it; {CONTOSO} cannot be enabled"
    assert refused(lpa, sim_state, "delete", "--yes", "--force", LOCKED) == \
        f"profile {LOCKED} is enabled and may not be disabled (PPR1)"


def test_a_nickname_two_profiles_share_is_refused(lpa, sim_state):
    lpa("nickname", CONTOSO, "work")
    assert refused(lpa, sim_state, "enable", "work") == "2 profiles have the nickname 'work'; use the ICCID"


def test_a_removed_notification_is_reported_not_sent(lpa, sim_state, monkeypatch):
    # a notification that vanished between ListNotification and RetrieveNotificationsList
    from lpa import es10

    monkeypatch.setattr(es10, "retrieve_notifications_list", lambda ch, seq=None: [])
    lpa("disable", "--no-notify", NORTHWIND)
    result = lpa("--json", "notifications", "process")
    assert '"error": "the eUICC no longer has it"' in result.output and result.exit_code == 5
