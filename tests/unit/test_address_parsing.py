"""SM-DP+ addresses from cards and activation codes are parsed in linear time, with RFC 1123's limits
(moved from the hardening tests, which run lpa itself)."""
from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpa.address import base_url, parse_address
from lpa.errors import ServerError


# -- SM-DP+ addresses -----------------------------------------------------------------


@pytest.mark.parametrize("address,url", [
    ("smdp.example.com", "https://smdp.example.com"),
    (" rsp.truphone.com ", "https://rsp.truphone.com"),  # stray spaces, seen from one operator
    ("127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("[::1]:8443", "https://[::1]:8443"),
    ("[2001:db8::1]", "https://[2001:db8::1]"),
    ("smdp-plus-0.eu.cd.rsp.kigen.com.", "https://smdp-plus-0.eu.cd.rsp.kigen.com."),
])
def test_addresses_become_https_urls(address, url):
    assert base_url(address) == url


_LABEL63 = "a" * 63


@pytest.mark.parametrize("address, accepted", [
    (".".join([_LABEL63] * 4)[:253], True), (".".join([_LABEL63] * 4)[:253] + "a", False),  # 253 characters at most
    (".".join([_LABEL63] * 4)[:253] + ".:65535", True),  # the longest address: 260 characters with dot and port
    (_LABEL63 + ".example", True), ("a" + _LABEL63 + ".example", False),  # a label of 63 at most
    ("smdp.example:1", True), ("smdp.example:65535", True), ("smdp.example:00443", True),
    ("smdp.example:000443", False), ("smdp.example:", False), ("[::1]:", False), ("[::1]", True), ("[]", False),
    ("]::1[", False), (".", False), ("a.", True), ("-a.example", False), ("a-.example", False), ("a-b.example", True),
])
def test_address_limits_rfc_1123_and_port(address, accepted):
    if accepted:
        assert base_url(address).startswith("https://")
    else:
        with pytest.raises(ServerError, match=r"malformed SM-DP\+ address"):
            base_url(address)


@pytest.mark.parametrize("address", [
    "", "   ", "http://smdp.example.com", "smdp.example.com/path", "user@smdp.example.com", "-smdp.example.com",
    "smdp..example.com", "smdp.example.com:0", "smdp.example.com:65536", "smdp.example.com:80:80",
    "[::1", "[not-ipv6]:1", "[::1]x", "a" * 64 + ".example.com", "smdp.exämple.com", "smdp example.com",
    "smdp.example.com:+443", "smdp.example.com:٤٤٣",
])
def test_malformed_addresses_are_refused(address):
    with pytest.raises(ServerError, match=r"malformed SM-DP\+ address"):
        base_url(address)


@pytest.mark.parametrize("address, shown", [
    ("", "(empty): malformed SM-DP+ address ''"),
    ("x/" * 40, f"{'x/' * 40}: malformed SM-DP+ address {'x/' * 40!r}"),  # 80 characters: all of it
    ("x/" * 40 + "y", f"{'x/' * 40}...: malformed SM-DP+ address {'x/' * 40 + '...'!r}"),
])
def test_a_malformed_address_is_shown_empty_or_cut_after_80_characters(address, shown):
    with pytest.raises(ServerError) as caught:
        parse_address(address)
    assert str(caught.value) == shown


def test_the_addresses_that_made_the_old_parser_backtrack_are_quick():
    for address in ("smdpplusproduction.example.com/", "verylongoperatorname.example.com/",
                    "a" * 20 + "." + "b" * 20 + "/", "a-" * 5000 + "/"):
        started = time.perf_counter()
        with pytest.raises(ServerError):
            parse_address(address)
        assert time.perf_counter() - started < 0.05


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab-.:[]0123456789/ ", min_size=1, max_size=200).map(
    lambda piece: (piece * (10_000 // len(piece) + 1))[:10_000]))
def test_parsing_10_kb_of_anything_takes_milliseconds(address):
    started = time.perf_counter()
    try:
        parse_address(address)
    except ServerError:
        pass
    assert time.perf_counter() - started < 0.05
