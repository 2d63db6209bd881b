"""Downloads in chromium beyond the typed code (tests/web/test_pages.py): the confirmation code, without a
code (the default SM-DP+, SM-DS events), a QR code image dropped or pasted, a reload during the download."""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from conftest import screenshot, start_download, submit, wait_for
from helpers import TS48_ICCID, TS48_PROFILE
from lpa.sim.card.state import StateFile
from lpa.sim.servers.smds import Event, TestSmds

pytestmark = pytest.mark.download  # the test SM-DP+'s first BPP compiles the profile package codec

#: The test SM-DP+'s other TS.48 profile and the ICCID it installs.
OTHER, OTHER_ICCID = "TS48V2-SAIP2-1-NOBERTLV-UNIQUE", "8949449999999990007"


def installed(sim_state: Any) -> list[str]:
    return [p.iccid for p in sim_state().profiles[4:]]


def test_a_confirmation_code_is_asked_and_a_wrong_one_refused_in_words(page, smdpp, sim_state):
    smdpp.download.confirmation_codes[TS48_PROFILE] = "12345678"
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    assert "needs the confirmation code" in wait_for(page, "#offer-code-needed").text
    submit(page, page.find_element(By.ID, "consent-yes"))
    wait_for(page, "#confirmation-code").send_keys("0000")
    screenshot(page, "confirmation-code")
    submit(page, page.find_element(By.CSS_SELECTOR, "form[action='/download/answer'] button"))
    outcome = wait_for(page, "#job-outcome", timeout=60)
    assert "confirmation code refused" in outcome.text and outcome.get_attribute("class") == "notice error"
    assert installed(sim_state) == []
    submit(page, page.find_element(By.ID, "dismiss"))
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    submit(page, wait_for(page, "#consent-yes"))
    wait_for(page, "#confirmation-code").send_keys("12345678")
    submit(page, page.find_element(By.CSS_SELECTOR, "form[action='/download/answer'] button"))
    assert wait_for(page, "#job-outcome", timeout=60).text.startswith(f"installed {TS48_ICCID}")
    assert installed(sim_state) == [TS48_ICCID]


def test_without_a_code_the_default_smdp_is_asked(page, smdpp, lpa, sim_state):
    smdpp.download.default_orders["*"] = TS48_PROFILE
    lpa("default-smdp", smdpp.address)
    start_download(page)
    assert wait_for(page, "#offer-name").text == TS48_PROFILE
    submit(page, page.find_element(By.ID, "consent-yes"))
    assert wait_for(page, "#job-outcome", timeout=60).text.startswith(f"installed {TS48_ICCID}")
    assert installed(sim_state) == [TS48_ICCID]


@pytest.fixture
def smds(smdpp: Any, state_path: Path) -> Iterator[TestSmds]:
    """The test SM-DS, the card's root SM-DS, holding two events at the test SM-DP+."""
    server = TestSmds().start()
    server.discovery.events = [Event(TS48_PROFILE, smdpp.address), Event(OTHER, smdpp.address)]
    state = StateFile(state_path).load()
    state.root_ds_address = server.address
    StateFile(state_path).save(state)
    yield server
    server.close()


def test_without_a_code_nor_default_the_smds_events_are_offered_to_choose(page, smds, smdpp, sim_state):
    start_download(page)
    events = wait_for(page, "form input[name='value'][type='radio']", timeout=60)
    labels = [e.text for e in page.find_elements(By.CSS_SELECTOR, "#job label.block")]
    assert labels == [f"{TS48_PROFILE} at {smdpp.address}", f"{OTHER} at {smdpp.address}"]
    assert f"root SM-DS {smds.address}" in page.find_element(By.ID, "job-step").text
    screenshot(page, "smds-events")
    assert events.get_attribute("value") == "1"
    page.find_elements(By.CSS_SELECTOR, "form input[name='value'][type='radio']")[1].click()
    submit(page, page.find_element(By.CSS_SELECTOR, "form[action='/download/answer'] button"))
    assert wait_for(page, "#offer-name").text == OTHER
    submit(page, page.find_element(By.ID, "consent-yes"))
    assert wait_for(page, "#job-outcome", timeout=60).text.startswith(f"installed {OTHER_ICCID}")
    assert installed(sim_state) == [OTHER_ICCID] and smds.discovery.retrieved == [sim_state().eid]


def qr_png(tmp_path: Path, code: str) -> str:
    """A PNG of the QR code of ``code``, in base64."""
    import segno

    image = tmp_path / "code.png"
    segno.make(code, micro=False).save(str(image), scale=6, border=4)
    return base64.b64encode(image.read_bytes()).decode()


#: Makes the File of a PNG (base64 in arguments[0]) and a DataTransfer holding it, as a drop or a paste carries.
TRANSFER = """
const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], "code.png", {type: "image/png"}));
"""


def test_a_qr_code_image_dropped_on_the_page_is_read(page, smdpp, tmp_path):
    # chromedriver cannot drag a file from the desktop: the drop event is dispatched with the File, as a drop has
    page.execute_script(TRANSFER + """
const zone = document.getElementById("drop");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
""", qr_png(tmp_path, f"LPA:1${smdpp.address}${TS48_PROFILE}"))
    assert wait_for(page, "#offer-name").text == TS48_PROFILE
    page.find_element(By.ID, "consent-no").click()
    wait_for(page, "#job-outcome", timeout=60)


def paste(page: Any, write: str, *arguments: Any) -> None:
    """Put something on chromium's clipboard with the Clipboard API (``write``: a call of navigator.clipboard,
    the permission granted through the driver), then paste it in the code field with a real Ctrl-V."""
    origin = page.execute_script("return location.origin")
    page.execute_cdp_cmd("Browser.grantPermissions", {"origin": origin, "permissions": [
        "clipboardReadWrite", "clipboardSanitizedWrite"]})
    copied = page.execute_async_script(f"""
const done = arguments[arguments.length - 1];
{write}.then(() => done("copied"), error => done(String(error)));
""", *arguments)
    assert copied == "copied"
    page.find_element(By.ID, "code").click()
    ActionChains(page).key_down(Keys.CONTROL).send_keys("v").key_up(Keys.CONTROL).perform()


def test_a_qr_code_image_pasted_from_the_clipboard_is_read(page, smdpp, tmp_path):
    paste(page, """navigator.clipboard.write([new ClipboardItem({"image/png": new Blob(
        [Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0))], {type: "image/png"})})])""",
          qr_png(tmp_path, f"LPA:1${smdpp.address}${TS48_PROFILE}"))
    assert wait_for(page, "#offer-name").text == TS48_PROFILE
    page.find_element(By.ID, "consent-no").click()
    wait_for(page, "#job-outcome", timeout=60)


def test_a_pasted_text_goes_into_the_code_field_not_taken_for_an_image(page):
    paste(page, "navigator.clipboard.writeText(arguments[0])", "LPA:1$smdp.example.com$X")
    assert page.find_element(By.ID, "code").get_attribute("value") == "LPA:1$smdp.example.com$X"
    assert not page.find_elements(By.ID, "job")


def test_a_reloaded_page_picks_up_the_download_in_progress(page, smdpp, sim_state):
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    wait_for(page, "#consent-yes")
    smdpp.slow_seconds, smdpp.fault = 3.0, "slow"  # the BPP, then the install notification, take 3 s each
    submit(page, page.find_element(By.ID, "consent-yes"))
    page.refresh()
    assert page.find_element(By.ID, "job").get_attribute("data-state") == "running"
    assert page.find_element(By.ID, "job-step").text == "preparing the download"
    # the reloaded page follows the job until the BPP is loaded (the install notification on its way)
    WebDriverWait(page, 30, poll_frequency=0.1).until(
        lambda d: re.fullmatch(r"(\d+) / \1", d.find_element(By.ID, "job-count").text))
    count = page.find_element(By.ID, "job-count").text
    page.refresh()
    assert page.find_element(By.ID, "job-step").text == "installing on the eUICC"
    assert page.find_element(By.ID, "job-count").text == count
    progress = page.find_element(By.ID, "job-progress")
    assert progress.get_attribute("value") == progress.get_attribute("max") == count.split(" / ")[0] != "0"
    assert wait_for(page, "#job-outcome", timeout=30).text.startswith(f"installed {TS48_ICCID}")
    assert installed(sim_state) == [TS48_ICCID]
