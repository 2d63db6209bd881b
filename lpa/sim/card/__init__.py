"""The simulated eUICC.

:mod:`.card` is the ISO 7816 card (ATR, channels, files, STORE DATA, GET RESPONSE) in front of the
ISD-R, :mod:`.isdr`, whose ES10 functions are split by what they do: :mod:`.es10a`, :mod:`.es10b`,
:mod:`.es10c`, :mod:`.notifications` (signing and keeping notifications), :mod:`.authentication`
(the download's mutual authentication, card side) and :mod:`.install` (loading and installing a
Bound Profile Package, with the SCP03t of :mod:`.bsp`). :mod:`.state` is what the card remembers.
"""
