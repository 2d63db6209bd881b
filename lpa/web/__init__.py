"""`lpa web`: the eUICC in a browser, a front-end beside :mod:`lpa.cli`.

:mod:`.command` is the `lpa web` command (click only; the rest is imported
when it runs), :mod:`.guard` the local web application's defences (the
secret, its cookie, Host and Origin checks, the security headers),
:mod:`.desk` the one card the pages work on (one operation at a time, the
download job kept server-side), :mod:`.app` the pages (Flask, Jinja2
templates in ``templates/``, a little JavaScript in ``static/``). Every
page action calls the library, as the CLI does.
"""
