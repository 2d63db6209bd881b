"""lpa web in a real browser: the `lpa web` command against the simulated eUICC, Debian's chromium
driven by Selenium through chromedriver (both installed by scripts/setup)."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from helpers import TEST_CI, lpa_executable

webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("flask")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Set to 1 to rewrite docs/screenshots/*.png from the tests' views.
SCREENSHOTS = os.environ.get("LPA_SCREENSHOTS") == "1"
SCREENSHOT_DIR = Path(__file__).parents[2] / "docs" / "screenshots"


@dataclass
class Server:
    """A running `lpa web`: its process, its origin and the one-time address it printed."""

    process: subprocess.Popen
    origin: str
    url: str
    #: What it printed before the address (the --listen warning).
    before: str = ""

    def stop(self) -> tuple[int, str]:
        """Ctrl-C: the exit code and what it printed on the way out."""
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        return self.process.returncode, err


def start_server(state_path: Path, *options: str, env: dict[str, str] | None = None) -> Server:
    """`lpa --sim web OPTIONS` on a free port, trusting the test CI (for the test SM-DP+), once it serves."""
    process = subprocess.Popen([lpa_executable(), "--sim", "--sim-state", str(state_path), "--ca-file", TEST_CI,
                                "--timeout", "20", "web", *options], stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True, env=env)
    assert process.stderr is not None
    said = ""
    while (line := process.stderr.readline()) and "?secret=" not in line:
        said += line  # the --listen warning
    found = re.search(r"at (https?://127\.0\.0\.1:\d+)(/\?secret=\S+)", line)
    if found is None:
        process.kill()
        pytest.fail(f"lpa web did not start: {said}{line}{process.stderr.read()}")
    process.stderr.readline()  # "the address works once"
    return Server(process, found[1], found[1] + found[2], said)


@pytest.fixture
def server(state_path: Path) -> Iterator[Server]:
    """`lpa --sim web` on a free port of 127.0.0.1."""
    running = start_server(state_path)
    yield running
    if running.process.poll() is None:
        running.stop()


@contextmanager
def chromium(*, accept_insecure_certs: bool = False) -> Iterator[Any]:
    """A headless chromium from a fresh profile, with no network of its own; with
    ``accept_insecure_certs`` the driver lets it past certificate errors (WebDriver's acceptInsecureCerts)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/setup installs them)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lpa-web-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.accept_insecure_certs = accept_insecure_certs
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     "--window-size=1280,900", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the run."""
    with chromium() as driver:
        yield driver


@pytest.fixture
def page(browser: Any, server: Server) -> Any:
    """The browser on the server's page, let in by the one-time address."""
    browser.delete_all_cookies()
    while len(browser.window_handles) > 1:
        browser.switch_to.window(browser.window_handles[-1])
        browser.close()
    browser.switch_to.window(browser.window_handles[0])
    browser.get(server.url)
    return browser


def screenshot(browser: Any, name: str) -> None:
    """Save the view as docs/screenshots/NAME.png when LPA_SCREENSHOTS=1 (else the tree stays clean)."""
    if SCREENSHOTS:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        height = browser.execute_script("return document.body.scrollHeight")
        browser.set_window_size(1280, min(max(height, 600), 2400))
        browser.save_screenshot(str(SCREENSHOT_DIR / f"{name}.png"))
        browser.set_window_size(1280, 900)


def wait_for(driver: Any, css: str, timeout: float = 30) -> Any:
    """The element ``css`` selects, once the page shows it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, css) and d.find_element(By.CSS_SELECTOR, css))


def _gone(element: Any) -> bool:
    """Has the page holding ``element`` been replaced? Chromium answers a query on a replaced page's
    node either as stale or, while the new page loads, "does not belong to the document"."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def submit(driver: Any, button: Any) -> None:
    """Click a form's button and wait for the page the server answers with."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 30, poll_frequency=0.05).until(lambda d: _gone(old))
    WebDriverWait(driver, 30, poll_frequency=0.05).until(
        lambda d: d.execute_script("return document.readyState") == "complete")


def notice(driver: Any) -> str:
    """The page's notices (outcomes of the last action), joined."""
    from selenium.webdriver.common.by import By

    return " | ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".notice"))


def row(driver: Any, iccid: str) -> Any:
    """The profile table's row of ``iccid``."""
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'tr.profile[data-iccid="{iccid}"]')


def start_download(driver: Any, code: str = "") -> None:
    """Send the download form with ``code`` typed (none: the default SM-DP+ or the SM-DS)."""
    from selenium.webdriver.common.by import By

    if code:
        driver.find_element(By.ID, "code").send_keys(code)
    submit(driver, driver.find_element(By.ID, "download-button"))
