"""Random and mutated card answers: a decoded result or the project's error, never a crash."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzzing import DECODERS, check, valid_answers
from lpa.apdu import Channel
from lpa.errors import LpaError
from lpa.transport import Transport

VALID = valid_answers()


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_valid_answers_decode(name):
    for answer in VALID[name]:
        assert check(name, answer) is None


class Random(Transport):
    """A card that answers every command with a drawn (data, SW)."""

    name = "random card"

    def __init__(self, answers):
        self.answers = answers

    def transmit(self, apdu):
        return self.answers.pop(0) if self.answers else (b"", 0x6F00)


status_words = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0x9000, 0x6100, 0x6110, 0x6C10, 0x910B, 0x6A80]))


@settings(max_examples=300, deadline=None)
@given(answers=st.lists(st.tuples(st.binary(max_size=40), status_words), max_size=30),
       payload=st.binary(min_size=1, max_size=400), mss=st.integers(6, 255))
def test_the_apdu_layer_returns_data_or_raises_lpa_errors(answers, payload, mss):
    try:
        result = Channel(Random(answers), 1, mss).store_data(payload)
    except LpaError:
        return
    assert isinstance(result, bytes)


def test_an_endless_61xx_chain_is_cut_off():
    class Endless(Transport):
        name = "endless"

        def transmit(self, apdu):
            return b"\x00", 0x6101

    with pytest.raises(LpaError, match="61xx"):
        Channel(Endless(), 1).store_data(b"\xbf\x2d\x00")
