"""What puts the simulated eUICC somewhere a program can reach it.

:mod:`.inprocess`: in this process, as the transport of ``lpa --sim``; :mod:`.vpcd`: into pcscd
through vsmartcard's vpcd reader driver, with :mod:`.pcscd` to run pcscd for tests and benchmarks;
:mod:`.modem`: behind a simulated modem's AT commands on a pseudo-terminal; :mod:`.qmi` and :mod:`.mbim`:
behind a simulated QMI or MBIM modem's control device (:mod:`.wdm`), on a pseudo-terminal or a proxy socket.
"""
