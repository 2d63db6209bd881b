"""`lpa web`: serve the eUICC's pages (the command; Flask and cheroot are imported when it runs)."""
from __future__ import annotations

import sys
from typing import Any

import click

from ..errors import InputError


@click.command(short_help="Serve a page in the browser to manage the eUICC (needs lpa[web]).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="The TCP port to serve on (0: any free one).")
@click.option("--listen", metavar="ADDRESS",
              help="Serve on this address of the machine (not 0.0.0.0) instead of 127.0.0.1, for other machines: "
                   "needs --cert and --key, prints a warning.")
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM) for --listen.")
@click.option("--key", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM) for --listen.")
@click.option("--open", "open_browser", is_flag=True,
              help="Open the page in the default browser (the program BROWSER names, if set).")
@click.pass_context
def web(ctx: click.Context, port: int, listen: str | None, cert: str | None, key: str | None,
        open_browser: bool) -> None:
    """Serve the eUICC's pages on 127.0.0.1: info, profiles, notifications, download (code, QR image,
    default SM-DP+, SM-DS), enable, disable, rename, delete, memory reset.

    Prints the address with a one-time secret; the browser that opens it gets
    a cookie, and nobody else is let in. One operation runs on the card at a
    time. Ctrl-C stops the server.
    """
    if listen is not None and not (cert and key):
        raise click.UsageError("--listen serves other machines: give --cert and --key (TLS)")
    if (cert or key) and listen is None:
        raise click.UsageError("--cert and --key go with --listen")
    if listen is not None and _unspecified(listen):
        raise click.UsageError(f"--listen {listen}: give the address other machines reach this one at "
                               "(the page answers only to the address it prints)")
    try:
        from cheroot import wsgi

        from .app import Options, create_app  # imports Flask
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in ("cheroot", "flask", "werkzeug", "jinja2"):
            raise
        raise InputError("lpa web needs the web extra: pip install '.[web]' in lpa's checkout (README, Installing)") \
            from None
    from .desk import Desk
    from .guard import Guard

    settings = ctx.obj
    address = listen or "127.0.0.1"
    server = wsgi.Server((address, port), None, numthreads=8)
    if cert and key:
        import ssl

        from cheroot.ssl.builtin import BuiltinSSLAdapter

        try:
            server.ssl_adapter = BuiltinSSLAdapter(cert, key)
        except ssl.SSLError as error:
            raise InputError(f"--cert {cert} --key {key}: not a PEM certificate and its private key "
                             f"({error.reason or error})") from None
    server.prepare()  # binds the port: the address to print is known
    desk: Desk | None = None
    try:  # from here a Ctrl-C stops the server, whenever it comes
        bound = server.bind_addr[1] if isinstance(server.bind_addr, tuple) else port
        host = f"[{address}]" if ":" in address else address
        names = {f"{host}:{bound}"} | ({f"localhost:{bound}"} if address == "127.0.0.1" else set())
        guard = Guard(frozenset(names), "https" if listen else "http")
        desk = Desk(_devices(settings), lambda device: _open(settings, device))
        server.wsgi_app = create_app(desk, guard, Options(notify=settings.notify))
        url = f"{guard.scheme}://{host}:{bound}/?secret={guard.secret}"
        if listen:
            click.echo(f"lpa web: warning: serving on {address}, reachable from other machines; anyone who gets "
                       "the address below can manage this eUICC", err=True)
        click.echo(f"lpa web: serving {desk.device} at {url}", err=True)
        click.echo("lpa web: the address works once (in one browser); Ctrl-C stops", err=True)
        sys.stderr.flush()
        if open_browser:
            import threading
            import webbrowser

            # Some browser commands return only when the browser is closed: the server serves meanwhile.
            threading.Thread(target=webbrowser.open, args=(url,), name="lpa-web-open", daemon=True).start()
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    busy = f" while {desk.doing}: run `lpa list` to see the card's state" if desk is not None and desk.busy else ""
    click.echo(f"lpa web: stopped{busy}", err=True)
    ctx.exit(130)


def _unspecified(address: str) -> bool:
    """Is ``address`` 0.0.0.0 or :: (every interface), which no browser can name in its Host header?"""
    import ipaddress

    try:
        return ipaddress.ip_address(address.strip("[]")).is_unspecified
    except ValueError:
        return False  # a host name


def _devices(settings: Any) -> list[str]:
    """The devices the page offers: the one lpa was given, and with plain pcsc each reader holding a card."""
    if settings.device != "pcsc":
        return [str(settings.device)]
    from ..apdu import isdr_aids
    from ..devices import describe

    try:
        found = describe(isdr_aids(settings.aid))
    except Exception:  # noqa: BLE001 (no pcscd: the page says so when it opens the card)
        return ["pcsc"]
    return ["pcsc", *(f"pcsc:{r['name']}" for r in found)]


def _open(settings: Any, device: str) -> Any:
    """Open ``device`` with the global options (ISD-R AID, segment size, trust anchors, time-out)."""
    from ..euicc import NotifySettings, open_euicc

    return open_euicc(device=device, aid=settings.aid, mss=settings.mss, logical_channel=settings.logical_channel,
                      notify=NotifySettings(ca_files=settings.ca_files, timeout=settings.timeout))
