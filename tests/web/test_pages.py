"""lpa web in chromium: the views, the actions with their guards, downloads from the test SM-DP+,
two tabs racing for the card."""
from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from conftest import notice, row, screenshot, start_download, submit, wait_for
from helpers import CONTOSO, EID, FABRIKAM, NORTHWIND, TEST_PROFILE, TS48_ICCID, TS48_PROFILE

pytestmark = pytest.mark.download  # the test SM-DP+'s first BPP compiles the profile package codec


def test_the_page_lists_profiles_info_and_notifications(page):
    iccids = [e.text for e in page.find_elements(By.CSS_SELECTOR, "tr.profile td.iccid")]
    assert iccids == [NORTHWIND, CONTOSO, FABRIKAM, TEST_PROFILE]
    northwind = row(page, NORTHWIND)
    assert northwind.find_element(By.CSS_SELECTOR, ".state").text == "enabled"
    assert northwind.find_element(By.CSS_SELECTOR, ".nickname").text == "work"
    assert northwind.find_element(By.CSS_SELECTOR, "img.icon").get_attribute("src").startswith("data:image/")
    info = page.find_element(By.ID, "info").text
    assert EID in info and "SGP.22 version" in info and "Free memory" in info
    screenshot(page, "profiles")


def test_enable_switches_the_enabled_profile(page, sim_state):
    submit(page, row(page, CONTOSO).find_element(By.CSS_SELECTOR, "button.enable"))
    wait_for(page, ".notice.ok")
    assert f"enabled {CONTOSO} (disabled {NORTHWIND})" in notice(page)
    assert row(page, CONTOSO).find_element(By.CSS_SELECTOR, ".state").text == "enabled"
    assert sim_state().find(iccid=CONTOSO).state == "enabled"


def test_disable_turns_the_enabled_profile_off(page, sim_state):
    submit(page, row(page, NORTHWIND).find_element(By.CSS_SELECTOR, "button.disable"))
    assert f"disabled {NORTHWIND}" in wait_for(page, ".notice.ok").text
    assert row(page, NORTHWIND).find_element(By.CSS_SELECTOR, ".state").text == "disabled"
    assert row(page, NORTHWIND).find_elements(By.CSS_SELECTOR, "button.enable")
    assert sim_state().enabled() is None


def rename(page: Any, iccid: str, nickname: str) -> None:
    target = row(page, iccid)
    target.find_element(By.XPATH, ".//summary[text()='Rename']").click()
    field = target.find_element(By.NAME, "nickname")
    field.clear()
    field.send_keys(nickname)
    submit(page, target.find_element(By.CSS_SELECTOR, "button.rename"))


def test_rename_sets_and_clears_a_nickname_and_refuses_one_over_64_bytes_in_words(page, sim_state):
    # the markup case: tests/web/test_attacks.py
    rename(page, CONTOSO, "travel")
    assert f"nickname of {CONTOSO} set to 'travel'" in notice(page)
    assert row(page, CONTOSO).find_element(By.CSS_SELECTOR, ".nickname").text == "travel"
    rename(page, CONTOSO, "é" * 40)  # 40 characters pass the field's maxlength, 80 bytes do not fit the card
    assert f"{CONTOSO} not renamed: nickname is 80 bytes of UTF-8; at most 64 fit" in \
        wait_for(page, ".notice.error").text
    assert row(page, CONTOSO).find_element(By.CSS_SELECTOR, ".nickname").text == "travel"
    assert sim_state().find(iccid=CONTOSO).nickname == "travel"
    rename(page, CONTOSO, "")
    assert f"nickname of {CONTOSO} cleared" in notice(page) and not sim_state().find(iccid=CONTOSO).nickname


def reset(page: Any, scopes: list[str], typed: str) -> None:
    section = page.find_element(By.ID, "settings")
    section.find_element(By.XPATH, ".//summary[text()='Memory reset']").click()
    for scope in scopes:
        section.find_element(By.NAME, scope).click()
    section.find_element(By.CSS_SELECTOR, "form[action='/memory-reset'] input[name='confirm']").send_keys(typed)
    submit(page, section.find_element(By.CSS_SELECTOR, "form[action='/memory-reset'] button"))


def test_memory_reset_needs_the_eids_last_digits(page, sim_state):
    before = sim_state().profiles
    reset(page, ["operational", "test", "override_policy"], "0000")
    assert "nothing was reset: type the last 4 digits of the EID" in notice(page)
    assert sim_state().profiles == before and len(page.find_elements(By.CSS_SELECTOR, "tr.profile")) == 4
    reset(page, ["test"], EID[-4:])
    assert TEST_PROFILE in wait_for(page, ".notice.ok").text
    assert [p.iccid for p in sim_state().profiles] == [NORTHWIND, CONTOSO, FABRIKAM]


def test_memory_reset_of_a_protected_profile_needs_the_policy_override(page, sim_state):
    reset(page, ["operational"], EID[-4:])
    assert f"the policy rules of {FABRIKAM}" in wait_for(page, ".notice.error").text
    assert len(sim_state().profiles) == 4
    reset(page, ["operational", "override_policy"], EID[-4:])
    wait_for(page, ".notice.ok")
    assert [p.iccid for p in sim_state().profiles] == [TEST_PROFILE]
    assert [e.text for e in page.find_elements(By.CSS_SELECTOR, "tr.profile td.iccid")] == [TEST_PROFILE]


def set_default_smdp(page: Any, address: str) -> None:
    field = page.find_element(By.CSS_SELECTOR, "#settings input[name='address']")
    field.clear()
    field.send_keys(address)
    submit(page, page.find_element(By.CSS_SELECTOR, "form[action='/default-smdp'] button"))


def test_the_default_smdp_is_set_and_a_malformed_one_refused_in_words(page, sim_state):
    set_default_smdp(page, "smdp.example.com:8443")
    assert "default SM-DP+ set to smdp.example.com:8443" in notice(page)
    assert sim_state().default_dp_address == "smdp.example.com:8443"
    assert "smdp.example.com:8443" in page.find_element(By.ID, "info").text
    set_default_smdp(page, "not an address!")
    assert "the default SM-DP+ is unchanged: malformed SM-DP+ address 'not an address!'" in \
        wait_for(page, ".notice.error").text
    assert sim_state().default_dp_address == "smdp.example.com:8443"
    assert page.find_element(By.CSS_SELECTOR, "#settings input[name='address']").get_attribute("value") == \
        "smdp.example.com:8443"


def delete(page: Any, iccid: str, typed: str) -> None:
    target = row(page, iccid)
    target.find_element(By.XPATH, ".//summary[text()='Delete']").click()
    target.find_element(By.CSS_SELECTOR, "input.confirm").send_keys(typed)
    submit(page, target.find_element(By.CSS_SELECTOR, "button.delete"))


def test_delete_needs_the_iccids_last_digits(page, sim_state):
    delete(page, CONTOSO, "0000")
    assert "not deleted: type the last 4 digits of the ICCID" in notice(page)
    assert sim_state().find(iccid=CONTOSO) is not None
    delete(page, CONTOSO, CONTOSO[-4:])
    assert f"deleted {CONTOSO}" in notice(page)
    assert sim_state().find(iccid=CONTOSO) is None and not page.find_elements(
        By.CSS_SELECTOR, f'tr.profile[data-iccid="{CONTOSO}"]')


def test_the_enabled_profiles_delete_form_spells_out_the_consequence(page):
    assert "It is the enabled profile: it is disabled first" in row(page, NORTHWIND).get_attribute("innerHTML")
    assert "(PPR2) forbid deleting it" in row(page, FABRIKAM).get_attribute("innerHTML")
    delete(page, FABRIKAM, FABRIKAM[-4:])
    assert "PPR2" in notice(page) and row(page, FABRIKAM)


def test_download_asks_consent_shows_progress_and_the_result(page, smdpp, sim_state):
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    wait_for(page, "#consent-yes")
    assert page.find_element(By.ID, "offer-name").text == TS48_PROFILE
    screenshot(page, "consent")
    page.refresh()  # the download lives on the server: the question is still there
    submit(page, page.find_element(By.ID, "consent-yes"))
    assert page.find_elements(By.ID, "job-progress") or page.find_elements(By.ID, "job-outcome")
    outcome = wait_for(page, "#job-outcome", timeout=60).text
    assert outcome.startswith(f"installed {TS48_ICCID}") and f"notified {smdpp.address}" in outcome
    status = page.execute_async_script("fetch('/download/status').then(r => r.json()).then(arguments[0])")
    assert status["state"] == "done" and status["done"] == status["total"] > 1  # each BPP piece counted
    submit(page, page.find_element(By.ID, "dismiss"))
    assert row(page, TS48_ICCID).find_element(By.CSS_SELECTOR, ".state").text == "disabled"
    assert sim_state().find(iccid=TS48_ICCID) is not None


def test_a_failing_download_is_shown_in_words_and_the_card_read_again(page, smdpp, sim_state):
    start_download(page, f"LPA:1${smdpp.address}$NO-SUCH-ORDER")
    outcome = wait_for(page, "#job-outcome", timeout=60).text
    assert "matching ID refused" in outcome
    assert page.find_element(By.ID, "job-outcome").get_attribute("class") == "notice error"
    screenshot(page, "download-failed")
    assert [e.text for e in page.find_elements(By.CSS_SELECTOR, "tr.profile td.iccid")][0] == NORTHWIND
    assert sim_state().find(iccid=TS48_ICCID) is None


def test_a_declined_offer_installs_nothing(page, smdpp, sim_state):
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    wait_for(page, "#consent-no").click()
    assert "was not downloaded; the session is cancelled" in wait_for(page, "#job-outcome", timeout=60).text
    assert sim_state().find(iccid=TS48_ICCID) is None


def test_a_qr_code_image_is_uploaded(page, smdpp, tmp_path):
    import segno

    image = tmp_path / "code.png"
    segno.make(f"LPA:1${smdpp.address}${TS48_PROFILE}", micro=False).save(str(image), scale=6, border=4)
    page.find_element(By.ID, "qr").send_keys(str(image))
    submit(page, page.find_element(By.ID, "download-button"))
    assert wait_for(page, "#offer-name").text == TS48_PROFILE
    page.find_element(By.ID, "consent-no").click()
    wait_for(page, "#job-outcome", timeout=60)


def test_an_image_without_a_qr_code_is_refused_in_words(page, tmp_path):
    from PIL import Image

    image = tmp_path / "blank.png"
    Image.new("L", (60, 60), 255).save(image)
    page.find_element(By.ID, "qr").send_keys(str(image))
    submit(page, page.find_element(By.ID, "download-button"))
    assert "blank.png: no QR code found" in wait_for(page, ".notice.error").text


def test_two_tabs_racing_for_the_card_never_interleave(page, smdpp, sim_state):
    first, origin = page.current_window_handle, page.execute_script("return location.origin")
    page.switch_to.new_window("tab")
    second = page.current_window_handle
    page.get(origin + "/")
    assert row(page, CONTOSO)  # the second tab shares the cookie and sees the card
    page.switch_to.window(first)
    start_download(page, f"LPA:1${smdpp.address}${TS48_PROFILE}")
    wait_for(page, "#consent-yes")  # the download holds the card while it waits for consent
    page.switch_to.window(second)
    submit(page, row(page, CONTOSO).find_element(By.CSS_SELECTOR, "button.enable"))
    assert "the eUICC is busy (downloading)" in wait_for(page, ".notice.error").text
    assert sim_state().find(iccid=CONTOSO).state == "disabled"
    page.switch_to.window(first)
    submit(page, page.find_element(By.ID, "consent-yes"))
    wait_for(page, "#job-outcome", timeout=60)
    page.switch_to.window(second)
    page.refresh()
    assert row(page, TS48_ICCID)
