"""The `lpa web` command's options: --open starts the browser on the printed address, --listen serves over
TLS only (the browser test trusts the certificate through the driver)."""
from __future__ import annotations

import os
import signal
import time

import requests
from selenium.webdriver.common.by import By

from conftest import chromium, row, start_server, submit, wait_for
from helpers import CONTOSO, NORTHWIND, TEST_CI
from lpa.sim.pki.testpki import PKI_DIR

#: The test SM-DP+'s TLS certificate (for 127.0.0.1, localhost and ::1, issued by the test CI) and its key.
CERT, KEY = str(PKI_DIR / "smdp-tls-cert.pem"), str(PKI_DIR / "smdp-tls-key.pem")


def test_open_starts_the_browser_on_the_address_with_its_secret(browser, state_path, tmp_path):
    opened, pid = tmp_path / "opened", tmp_path / "pid"
    fake = tmp_path / "browser"  # records the address, then runs on as a browser does until it is closed
    fake.write_text(f"#!/bin/sh\necho $$ > {pid}\nprintf '%s\\n' \"$1\" > {opened}\nexec sleep 60 >/dev/null 2>&1\n")
    fake.chmod(0o755)
    server = start_server(state_path, "--open", env={**os.environ, "BROWSER": str(fake)})
    try:
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        url = opened.read_text().strip()
        assert url == server.url and url.startswith(server.origin + "/?secret=")
        browser.delete_all_cookies()
        browser.set_page_load_timeout(10)  # served while the browser command still runs
        browser.get(url)  # the address the browser was given lets it in
        assert row(browser, NORTHWIND)
    finally:
        browser.set_page_load_timeout(300)
        server.stop()
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGTERM)


def test_listen_serves_over_tls_with_a_warning_and_the_page_works_over_https(state_path, sim_state):
    server = start_server(state_path, "--listen", "127.0.0.1", "--cert", CERT, "--key", KEY)
    try:
        assert "warning: serving on 127.0.0.1, reachable from other machines" in server.before
        assert server.url.startswith("https://127.0.0.1:")
        # the certificate served is the one given: it verifies against the test CI (no secret: refused)
        assert requests.get(server.origin + "/", verify=TEST_CI, timeout=10).status_code == 403
        # chromium does not trust the test CI: the driver accepts the certificate error (acceptInsecureCerts)
        with chromium(accept_insecure_certs=True) as driver:
            driver.get(server.url)
            [cookie] = driver.get_cookies()
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            submit(driver, row(driver, CONTOSO).find_element(By.CSS_SELECTOR, "button.enable"))
            assert f"enabled {CONTOSO}" in wait_for(driver, ".notice.ok").text
        assert sim_state().find(iccid=CONTOSO).state == "enabled"
    finally:
        server.stop()


def test_listen_without_tls_on_every_interface_or_with_a_wrong_key_is_refused_in_one_line(lpa_process):
    plain = lpa_process("web", "--listen", "192.0.2.1")
    assert plain.returncode == 2 and plain.stderr.splitlines() == [
        "lpa: --listen serves other machines: give --cert and --key (TLS); see `lpa web --help`"]
    for wildcard in ("0.0.0.0", "::"):
        refused = lpa_process("web", "--listen", wildcard, "--cert", CERT, "--key", KEY)
        assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
        assert f"lpa: --listen {wildcard}: give the address other machines reach this one at" in refused.stderr
    mismatched = lpa_process("web", "--listen", "127.0.0.1", "--cert", CERT, "--key", str(PKI_DIR / "ci-key.pem"))
    assert mismatched.returncode == 2 and len(mismatched.stderr.splitlines()) == 1
    assert "not a PEM certificate and its private key (KEY_VALUES_MISMATCH)" in mismatched.stderr
