"""Notifications carried to another machine: export at the card, send anywhere, remove what was acknowledged."""
from __future__ import annotations

import json
import re

import pytest

from helpers import TEST_CI, json_data
from lpa.errors import InputError
from lpa.operations.notification_file import read, send
from lpa.sim.card.state import StateFile

OPERATOR, OTHER = "8988247000000000001", "8988247000000000002"


@pytest.fixture
def deleted(lpa, smdpp):
    """Two pending notifications for the test SM-DP+: OPERATOR's install (1) and delete (2)."""
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address,
        "--notify", "delete")
    assert lpa("delete", "--yes", "--no-notify", OPERATOR).exit_code == 0


def pending(sim_state):
    return [n.seq_number for n in sim_state().notifications]


def send_file(lpa, path, *args):
    """`lpa notifications send` as on a machine without the card."""
    return lpa("--ca-file", TEST_CI, "--timeout", "1", "notifications", "send", str(path), *args, sim=False)


def test_export_send_remove_round_trip(lpa, smdpp, deleted, sim_state, tmp_path):
    path = tmp_path / "n.json"
    result = lpa("notifications", "export", str(path))
    assert result.exit_code == 0 and "exported 2 notification(s)" in result.output
    assert pending(sim_state) == [1, 2]  # exporting removes nothing
    data = json.loads(path.read_text())
    assert (data["format"], data["version"], data["eid"]) == ("lpa notifications", 1, sim_state().eid)
    assert [(n["seqNumber"], n["profileManagementOperation"], n["acknowledgedAt"]) for n in data["notifications"]] \
        == [(1, "install", None), (2, "delete", None)]

    result = send_file(lpa, path)
    assert result.exit_code == 0, result.output
    assert "2 acknowledged, 0 failed" in result.output
    # the SM-DP+ verified both signatures
    assert [(a.seq_number, a.operation) for a in smdpp.accepted] == [(1, "install"), (2, "delete")]
    assert all(e.acknowledged_at for e in read(path).entries)
    assert pending(sim_state) == [1, 2]  # sending touches no card

    result = lpa("notifications", "remove", "--acknowledged", str(path))
    assert result.exit_code == 0 and result.output.strip() == "removed 1, 2"
    assert pending(sim_state) == []


def test_only_what_was_acknowledged_is_removed(lpa, smdpp, deleted, sim_state, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    smdpp.fault = "http500"
    result = send_file(lpa, path)
    assert result.exit_code == 5 and "failed: HTTP 500" in result.output
    smdpp.fault = None
    data = json_data(lpa("--json", "notifications", "remove", "--acknowledged", str(path)))
    assert [(n["seqNumber"], n["removed"]) for n in data["notifications"]] == [(1, False), (2, False)]
    assert data["notifications"][0]["reason"].startswith("not acknowledged (HTTP 500")
    assert pending(sim_state) == [1, 2]
    assert send_file(lpa, path).exit_code == 0  # the failed ones are sent again
    assert "removed 1, 2" in lpa("notifications", "remove", "--acknowledged", str(path)).output


def test_send_records_each_acknowledgement_as_it_comes(lpa, smdpp, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))

    class Interrupted:
        calls = 0

        def call(self, function, address, **fields):
            self.calls += 1
            if self.calls == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send(path, Interrupted())
    assert [e.acknowledged_at is not None for e in read(path).entries] == [True, False]


def test_send_again_resends_acknowledged_ones(lpa, smdpp, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path), "2")
    send_file(lpa, path)
    assert "0 acknowledged" in send_file(lpa, path).output
    assert "1 acknowledged" in send_file(lpa, path, "--again").output
    assert [a.seq_number for a in smdpp.accepted] == [2, 2]


def test_a_notification_the_card_holds_with_other_bytes_is_kept(lpa, smdpp, deleted, state_path, sim_state, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    send_file(lpa, path)
    # the same EID, fresh: sequence numbers start again at 1 for other notifications
    StateFile(state_path).save(StateFile(tmp_path / "fresh.json").load())
    lpa("sim", "add-profile", "--iccid", OTHER, "--provider", "Op", "--name", "N", "--smdp", smdpp.address)
    result = lpa("notifications", "remove", "--acknowledged", str(path))
    assert result.exit_code == 0
    assert "kept 1: the eUICC holds other bytes under this number" in result.output
    assert "kept 2: no longer on the eUICC" in result.output
    assert pending(sim_state) == [1]


def test_a_file_from_another_euicc_is_refused(lpa, deleted, sim_state, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    data = json.loads(path.read_text())
    data["eid"] = "89049032000001000000000000000999"
    for n in data["notifications"]:
        n["acknowledgedAt"] = "2026-01-01T00:00:00Z"
    path.write_text(json.dumps(data))
    result = lpa("notifications", "remove", "--acknowledged", str(path))
    assert result.exit_code == 2 and "exported from eUICC 89049032000001000000000000000999" in result.output
    assert pending(sim_state) == [1, 2]


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change, message", [
    (lambda d: d["notifications"][1].update(notificationAddress="evil.example"), "does not say what its signed bytes"),
    (lambda d: d["notifications"][1].update(seqNumber=7), "does not say what its signed bytes"),
    (lambda d: d["notifications"][1].update(profileManagementOperation="install"), "does not say what its signed"),
    (lambda d: d["notifications"][1].update(pendingNotification="not base64!"), "is not base64"),
    (lambda d: d["notifications"][1].update(pendingNotification="*" + d["notifications"][1]["pendingNotification"]),
     "is not base64"),  # a lenient decoder would drop the '*' and read the signed bytes unchanged
    (lambda d: d["notifications"][1].update(pendingNotification=d["notifications"][1]["pendingNotification"][:40]),
     "not a valid notification export"),
    (lambda d: d["notifications"].append(d["notifications"][0]), "listed twice"),
    (lambda d: d.update(version=2), "version 2; this lpa reads version 1"),
    (lambda d: d.update(format="something else"), "its format is not 'lpa notifications'"),
    (lambda d: d.update(eid="8904"), "eid is not 32 digits"),
    (lambda d: d.pop("notifications"), "no 'notifications'"),
    (lambda d: d["notifications"][0].update(acknowledgedAt=5), "acknowledgedAt is not text"),
])
def test_a_changed_file_is_refused_with_what_is_wrong(lpa, deleted, sim_state, tmp_path, change, message):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    _edit(path, change)
    for args in (["notifications", "remove", "--acknowledged", str(path)],):
        result = lpa(*args)
        assert result.exit_code == 2 and message in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1
    result = send_file(lpa, path)
    assert result.exit_code == 2 and message in result.output
    assert pending(sim_state) == [1, 2]


def test_a_truncated_file_is_refused(lpa, deleted, smdpp, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    path.write_bytes(path.read_bytes()[:300])
    result = send_file(lpa, path)
    assert result.exit_code == 2 and "is damaged or truncated" in result.output
    assert smdpp.accepted == []


def test_export_refuses_an_existing_file_and_unknown_numbers(lpa, deleted, tmp_path):
    path = tmp_path / "n.json"
    path.write_text("mine")
    result = lpa("notifications", "export", str(path))
    assert result.exit_code == 2 and "--force" in result.output and path.read_text() == "mine"
    result = lpa("notifications", "export", str(tmp_path / "m.json"), "9")
    assert result.exit_code == 2 and "no pending notification 9" in result.output
    assert not (tmp_path / "m.json").exists()
    assert lpa("notifications", "export", "--force", str(path), "2").exit_code == 0
    assert [e.metadata.seq_number for e in read(path).entries] == [2]


def test_remove_takes_numbers_or_a_file_not_both(lpa, tmp_path):
    assert lpa("notifications", "remove", "--yes").exit_code == 2
    result = lpa("notifications", "remove", "1", "--acknowledged", str(tmp_path / "x.json"))
    assert result.exit_code == 2 and "not both" in result.output


def test_send_uses_tls_verification_against_the_cards_cis(lpa, smdpp, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    result = lpa("--timeout", "1", "notifications", "send", str(path), sim=False)  # the test CI not trusted
    assert result.exit_code == 5 and "TLS verification failed" in result.output
    assert smdpp.accepted == []


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(ciKeyIds=["xyz"]), "ciKeyIds is not a list of hexadecimal key identifiers"),
    (lambda d: d.update(ciKeyIds="03e2"), "ciKeyIds is not a list"),
    (lambda d: d.update(notifications={}), "notifications is not a list"),
    (lambda d: d["notifications"].append("x"), "notification #3 is not an object"),
    (lambda d: d.update(exportedAt=None), "exportedAt is not text"),
    (lambda d: d["notifications"][0].update(lastError=[]), "lastError is not text"),
    (lambda d: d.pop("version"), "version None; this lpa reads version 1"),
    (lambda d: d["notifications"][0].update(seqNumber=True), "does not say what its signed bytes say"),
    (lambda d: d["notifications"][0].update(seqNumber=float(d["notifications"][0]["seqNumber"])),
     "does not say what its signed bytes say"),  # booleans and 1.0 are not the number the card signed
    (lambda d: d["notifications"][0].update(acknowledgedAt="x"), "acknowledgedAt 'x' is not a time"),
    (lambda d: d.update(exportedAt="yesterday"), "exportedAt 'yesterday' is not a time"),
    (lambda d: d.update(eid=json.loads("[" * 40 + "0" + "]" * 40)),
     "nested deeper than 32 levels"),
])
def test_every_field_of_the_file_is_checked(lpa, deleted, tmp_path, change, message):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    _edit(path, change)
    with pytest.raises(InputError, match=re.escape(message)):
        read(path)


def test_a_file_larger_than_4_mib_is_not_read(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(InputError, match="larger than 4194304 bytes"):
        read(path)
    path.write_bytes(b" " * (4 * 1024 * 1024))
    with pytest.raises(InputError, match="damaged or truncated"):
        read(path)


def test_an_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a directory, not a notification export; give a regular file"):
        read(tmp_path)


def test_writing_can_refuse_to_overwrite(lpa, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    exported = read(path)
    with pytest.raises(InputError, match="exists"):
        exported.write(path, overwrite=False)
    exported.write(tmp_path / "m.json", overwrite=False)
    assert read(tmp_path / "m.json") == exported
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_failed_write_raises_and_leaves_no_temporary_file(lpa, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    target = tmp_path / "a-directory"
    target.mkdir()
    with pytest.raises(OSError):
        read(path).write(target)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_library_sends_each_notification_once_unless_asked_again(lpa, smdpp, deleted, tmp_path):
    from lpa.https import HttpsClient
    from lpa.trust import anchors

    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    with HttpsClient(anchors([], [TEST_CI]), timeout=5) as client:
        assert [s.delivered for s in send(path, client)] == [True, True]
        assert send(path, client) == []
        assert len(send(path, client, again=True)) == 2


def test_send_refused_by_the_smdp_ends_with_a_line_saying_what_to_do(lpa, smdpp, deleted, tmp_path):
    path = tmp_path / "n.json"
    lpa("notifications", "export", str(path))
    smdpp.fault = "failed-status"
    result = send_file(lpa, path)
    assert result.exit_code == 5
    assert result.output.splitlines()[-1] == (f"lpa: {smdpp.address}: 2 of 2 notification(s) not delivered; "
                                              "they are kept: send them again later")
