"""The simulated eUICC and its test peers (TEST TOOLS, not part of the LPA).

- :mod:`lpa.sim.card`: the simulated eUICC (the ISO 7816 card, the ISD-R's ES10 functions, its state file);
- :mod:`lpa.sim.bridges`: what puts the card somewhere (in process, pcscd through vpcd, an AT modem);
- :mod:`lpa.sim.servers`: the test SM-DP+ and SM-DS over one HTTPS fault server;
- :mod:`lpa.sim.pki`: the test PKI and its PEM files;
- :mod:`lpa.sim.cli`: the `lpa sim` commands.

Of the LPA it uses only the shared core: :mod:`lpa.codec`, :mod:`lpa.encoding`, :mod:`lpa.errors`,
:mod:`lpa.paths`.
"""
