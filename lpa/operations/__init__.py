"""What a user asks of an eUICC, one module per operation, each over a :class:`~lpa.session.Session`.

- :mod:`.info`: EID, EUICCInfo2, configured addresses, rules authorisation table; the default SM-DP+.
- :mod:`.profiles`: list, find, enable, disable, delete, nickname, with their policy checks.
- :mod:`.notifications`: delivering notifications to their SM-DP+ (and the ES9+ client for the card's CIs).
- :mod:`.authentication`: the mutual authentication download and discovery share (SGP.22 3.1.2).
- :mod:`.download`: a profile download (SGP.22 3.1.3), and what to download without an activation code.
- :mod:`.discovery`: SM-DS event retrieval (SGP.22 3.6.2).
- :mod:`.memory_reset`: eUICC memory reset (SGP.22 5.7.19).
- :mod:`.notification_file`: notifications exported to a file, delivered without the card.

Operations call the protocol layers (:mod:`lpa.es10`, :mod:`lpa.es9p`,
:mod:`lpa.es11`) and each other, never a front-end.
"""
