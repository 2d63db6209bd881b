"""The test PKI of the simulated eUICC and the test servers: TEST MATERIAL, NOT FOR PRODUCTION.

The PEM files beside these modules (a test CI, an EUM, the eUICC, the SM-DP+'s TLS certificate, and
their keys) are made by :mod:`lpa.sim.pki.testpki`; :mod:`.certificates` holds what the card and the
servers check in RSP certificates, :mod:`.identity` the eUICC's certificates and key, and
:mod:`.signatures` the r||s ECDSA of SGP.22's structures.
"""
