"""Random and mutated card answers: a decoded result or the project's error, never a crash."""
from __future__ import annotations

import json
import random
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import DECODERS, Schema, check, check_apdu, mutate, valid_answers
from helpers import Answer
from lpa.apdu import Channel
from lpa.errors import LpaError, ProtocolError, ResultError
from lpa.sim.bridges.inprocess import SimulatedTransport
from lpa.transport import Transport

VALID = valid_answers()
SCHEMA = Schema()
HEALTHY = SimulatedTransport.transmit


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_valid_answers_decode(name):
    for answer in VALID[name]:
        assert check(name, answer) is None


# Found by fuzzing. The first one made asn1tools' DER decoder loop forever.
@pytest.mark.parametrize("name, answer, reason", [
    ("ListNotification", "BF2805A003040100", "Expected NotificationMetadata"),
    ("GetProfilesInfo", "BF2D028500", "alternative this lpa does not know"),
    ("RemoveNotificationFromList", "BF301B8019" + "7F" + "FF" * 24, "integer of 199 bits"),
    ("ListNotification", "BF2812A010BF2F0D8001018102FF200C0461626364", "impossible unused-bits"),
])
def test_a_malformed_answer_is_a_protocol_error_promptly(name, answer, reason):
    def too_slow(*_):
        raise AssertionError(f"decoding {answer} took more than 5 s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(5)
    try:
        with pytest.raises(ProtocolError, match=reason):
            DECODERS[name][0](Answer(bytes.fromhex(answer)))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# Found by fuzzing the whole stack: an error alternative carrying 0 was taken for success.
@pytest.mark.parametrize("name, answer", [("ListNotification", "BF2803810100"), ("GetProfilesInfo", "BF2D03810100"),
                                          ("RetrieveNotificationsList", "BF2B03810100")])
def test_an_error_alternative_carrying_zero_is_still_an_error(name, answer):
    with pytest.raises(ResultError, match=r"\(result 0, undefinedError\)"):
        DECODERS[name][0](Answer(bytes.fromhex(answer)))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(DECODERS)), which=st.integers(0, 1), rng=st.randoms(use_true_random=False))
def test_mutated_answers_never_crash_a_decoder(name, which, rng):
    assert check(name, mutate(VALID[name][which], rng)) is None


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from(sorted(DECODERS)), seed=st.integers(0, 2**32 - 1), mutated=st.booleans())
def test_well_formed_answers_with_random_contents_never_crash_a_decoder(name, seed, mutated):
    rng = random.Random(seed)
    answer = SCHEMA.answer(DECODERS[name][3], rng)
    assert check(name, mutate(answer, rng) if mutated else answer) is None


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(DECODERS)), data=st.binary(max_size=300))
def test_random_answers_never_crash_a_decoder(name, data):
    assert check(name, data) is None


status_words = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0x9000, 0x6100, 0x6110, 0x6C10, 0x910B, 0x6A80]))


@settings(max_examples=300, deadline=None)
@given(answers=st.lists(st.tuples(st.binary(max_size=40), status_words), max_size=30),
       payload=st.binary(min_size=1, max_size=400), mss=st.integers(6, 255))
def test_the_apdu_layer_returns_data_or_raises_lpa_errors(answers, payload, mss):
    assert check_apdu(answers, payload, mss) is None


def test_an_endless_61xx_chain_is_cut_off():
    class Endless(Transport):
        name = "endless"

        def transmit(self, apdu):
            return b"\x00", 0x6101

    with pytest.raises(LpaError, match="61xx"):
        Channel(Endless(), 1).store_data(b"\xbf\x2d\x00")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from([["list"], ["list", "--icons"], ["info"], ["notifications", "list"],
                                ["--json", "list"], ["--json", "info"], ["--json", "notifications", "list"]]),
       seed=st.integers(0, 2**32 - 1))
def test_no_command_crashes_whatever_the_card_answers(lpa, monkeypatch, command, seed):
    """The whole stack, CLI output included, on a card whose answers are mutated: a result or one error line."""
    rng = random.Random(seed)

    def garbled(self, apdu):
        data, sw = HEALTHY(self, apdu)
        if data and apdu[1] in (0xE2, 0xC0) and rng.random() < 0.3:  # STORE DATA, GET RESPONSE answers
            if rng.random() < 0.5:  # one byte changed: often still decodes, with odd values
                data = bytearray(data)
                data[rng.randrange(len(data))] = rng.randrange(256)
                data = bytes(data)
            else:
                data = mutate(data, rng)
        return data, sw

    monkeypatch.setattr(SimulatedTransport, "transmit", garbled)  # the fixture lives across examples: HEALTHY
    monkeypatch.setenv("LPA_DEBUG", "1")  # an unexpected exception is raised, not turned into exit 1
    result = lpa(*command)
    assert result.exit_code in (0, 3), result.output
    if "--json" in command:
        assert json.loads(result.stdout)["ok"] is (result.exit_code == 0)
    elif result.exit_code:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("lpa: "), result.stderr
