"""The test servers (TEST TOOLS): an SM-DP+ and an SM-DS over one HTTPS fault server.

:mod:`.https` serves HTTPS on a loopback address and misbehaves on request (its transport faults);
:mod:`.smdpp` is the test SM-DP+ (notifications; downloads from :mod:`.download`, bound by
:mod:`.bpp_builder` to the eUICC, of the TS.48 profiles :mod:`.profile_package` reads from
``ts48/``); :mod:`.smds` is the test SM-DS. Both authenticate the eUICC with
:mod:`.authentication`.
"""
