"""The web's attacks on lpa web: each refused before the card is touched, or inert."""
from __future__ import annotations

import requests
from selenium.webdriver.common.by import By

from conftest import screenshot, submit
from helpers import CONTOSO, NORTHWIND

MARKUP = '<img src=x onerror="window.pwned=1"><script>window.pwned=1</script>'
PROVIDER = "<b>P</b><script>pwned=1</script>"  # at most 32 bytes


def session(server) -> requests.Session:
    """A client let in by the one-time address, as a browser would be."""
    client = requests.Session()
    assert client.get(server.url, timeout=10).status_code == 200
    return client


def test_no_request_gets_in_without_the_secret_and_the_secret_works_once(server):
    origin = server.origin
    assert requests.get(origin + "/", timeout=10).status_code == 403
    assert requests.get(origin + "/?secret=guessed", timeout=10).status_code == 403
    assert requests.get(origin + "/static/app.js", timeout=10).status_code == 403
    first = requests.get(server.url, timeout=10, allow_redirects=False)
    assert first.status_code == 303
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert requests.get(server.url, timeout=10).status_code == 403  # spent


def test_a_foreign_host_is_refused(server):
    client = session(server)
    refused = client.get(server.origin + "/", headers={"Host": "rebound.example:80"}, timeout=10)
    assert refused.status_code == 403 and "answers only to its own address" in refused.text


def test_a_cross_origin_post_is_refused_and_changes_nothing(server, sim_state):
    client = session(server)
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {}):
        refused = client.post(server.origin + "/profile/enable", data={"iccid": CONTOSO}, headers=headers,
                              timeout=10)
        assert refused.status_code == 403 and "Origin" in refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers
    assert client.put(server.origin + "/profile/enable", headers={"Origin": server.origin}, timeout=10).status_code \
        == 403
    assert sim_state().find(iccid=CONTOSO).state == "disabled"


def test_every_answer_carries_a_csp_without_inline_script_nor_other_origins(server):
    answer = session(server).get(server.origin + "/", headers={"Origin": "http://evil.example"}, timeout=10)
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "Access-Control-Allow-Origin" not in answer.headers
    assert "<script>" not in answer.text.replace('<script src="/static/app.js" defer></script>', "")


def test_markup_in_a_nickname_and_a_provider_is_shown_as_text(page, lpa):
    lpa("sim", "add-profile", "--iccid", "89000000000000000016", "--provider", PROVIDER, "--name", MARKUP[:64])
    page.refresh()
    northwind = page.find_element(By.CSS_SELECTOR, f'tr.profile[data-iccid="{NORTHWIND}"]')
    northwind.find_element(By.XPATH, ".//summary[text()='Rename']").click()
    field = northwind.find_element(By.NAME, "nickname")
    field.clear()
    field.send_keys(MARKUP[:64])
    submit(page, northwind.find_element(By.CSS_SELECTOR, "button.rename"))
    shown = page.find_element(By.CSS_SELECTOR, f'tr.profile[data-iccid="{NORTHWIND}"] .nickname').text
    assert shown == MARKUP[:64]
    added = page.find_element(By.CSS_SELECTOR, 'tr.profile[data-iccid="89000000000000000016"]')
    assert added.find_element(By.CSS_SELECTOR, ".provider").text == PROVIDER
    assert page.find_elements(By.CSS_SELECTOR, "main img[src='x'], main b, main td script") == []
    assert page.execute_script("return window.pwned === undefined")
    screenshot(page, "markup-as-text")


def test_an_oversized_upload_is_refused_in_words(server, sim_state):
    client = session(server)
    big = client.post(server.origin + "/download", files={"qr": ("big.png", b"\x89PNG" + b"\0" * (5 << 20),
                                                                 "image/png")},
                      headers={"Origin": server.origin}, timeout=30)
    assert "the upload is larger than 4 MiB" in big.text
    typed = client.post(server.origin + "/download", files={"qr": ("code.html", b"<html>", "text/html")},
                        headers={"Origin": server.origin}, timeout=10)
    assert "code.html: not an image the page reads" in typed.text


def test_ctrl_c_stops_the_server_with_130(server):
    code, said = server.stop()
    assert code == 130 and "lpa web: stopped" in said
