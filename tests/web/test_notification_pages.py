"""Pending notifications in chromium: sent to the test SM-DP+ (removed only once it acknowledged) and
exported to a file the browser downloads."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from conftest import notice, submit, wait_for
from helpers import CONTOSO

#: A profile whose install notification goes to the test SM-DP+ (lpa sim add-profile --smdp).
OPERATOR = "89000000000000000024"


def pending(sim_state: Any) -> list[tuple[str, str]]:
    return [(n.operation, n.address) for n in sim_state().notifications]


def test_notifications_are_sent_and_removed_only_once_the_smdp_acknowledged(page, lpa, smdpp, sim_state):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address)
    lpa("--json", "delete", CONTOSO, "--yes", "--no-notify")  # one for an SM-DP+ that is not reached
    page.refresh()
    shown = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#notifications tbody tr")]
    assert len(shown) == 2 and smdpp.address in shown[0] and OPERATOR in shown[0]
    smdpp.fault = "http500"
    submit(page, page.find_element(By.ID, "process"))
    assert f"for {smdpp.address} is kept on the eUICC (HTTP 500" in notice(page)
    assert len(pending(sim_state)) == 2
    smdpp.fault = None
    submit(page, page.find_element(By.ID, "process"))
    assert f"notified {smdpp.address}" in notice(page)
    assert [operation for operation, _ in pending(sim_state)] == ["delete"]  # its SM-DP+ was not reached
    assert [path for path, _, _ in smdpp.requests][-1].endswith("/handleNotification")
    assert len(page.find_elements(By.CSS_SELECTOR, "#notifications tbody tr")) == 1


def test_notifications_are_exported_to_a_file_the_browser_downloads(page, lpa, smdpp, sim_state, tmp_path):
    lpa("sim", "add-profile", "--iccid", OPERATOR, "--provider", "Op", "--name", "N", "--smdp", smdpp.address)
    page.refresh()
    page.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    wait_for(page, "#notifications a.button").click()
    eid = sim_state().eid
    saved = tmp_path / f"notifications-{eid}.json"
    deadline = time.monotonic() + 20
    while not saved.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    exported = json.loads(Path(saved).read_text())
    assert exported["eid"] == eid and [n["seqNumber"] for n in exported["notifications"]] == \
        [n.seq_number for n in sim_state().notifications]
    assert len(pending(sim_state)) == 1  # exporting removes nothing
