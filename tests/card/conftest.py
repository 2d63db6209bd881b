"""Fixtures of the tests that drive the simulated eUICC in process through lpa's ES10 layer."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lpa.apdu import open_isdr
from lpa.sim.bridges.inprocess import SimulatedTransport


@pytest.fixture
def ch(state_path: Path) -> Any:
    """The ISD-R's channel on the simulated eUICC of ``state_path``, in process (lpa's ES10 layer talks to it)."""
    with SimulatedTransport(state_path) as transport, open_isdr(transport) as channel:
        yield channel
