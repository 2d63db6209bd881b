"""The pages of `lpa web` (Flask): read the card, and each action calling the library as the CLI does.

A GET only reads; every change is a POST from the page's own origin
(:mod:`.guard`), followed by a redirect to the main page, which reads the
card again: after a failure too, so nothing half-done is shown as done.
Jinja2 escapes every string the templates show (card and server strings
included); the script in ``static/`` writes only with ``textContent``.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, abort, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..errors import InputError, LpaError
from .desk import Busy, Desk, Job, in_words
from .guard import COOKIE, HEADERS, Guard

#: The largest QR code image accepted (a phone screenshot is well under it).
MAX_UPLOAD = 4 * 1024 * 1024
#: The image types a QR code upload may be.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")
#: resetOptions bit names (SGP.22 5.7.19) by the form's checkbox names.
RESET_SCOPES = {"operational": "deleteOperationalProfiles", "test": "deleteFieldLoadedTestProfiles",
                "default_smdp": "resetDefaultSmdpAddress"}


@dataclass(frozen=True)
class Options:
    """What `lpa web` was started with that the pages need."""

    #: Send notifications after a change (not when answering from a recording).
    notify: bool = True


def create_app(desk: Desk, guard: Guard, options: Options) -> Flask:
    """The Flask application serving ``desk``'s card behind ``guard``."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD

    @app.before_request
    def check() -> Any:
        refusal = guard.host_refusal(request.host)
        if refusal is None and not guard.admits(request.cookies.get(COOKIE)):
            if request.path == "/" and request.method == "GET" and guard.exchange(request.args.get("secret")):
                response = redirect("/", 303)
                response.set_cookie(COOKIE, guard.token, httponly=True, samesite="Strict",
                                    secure=guard.scheme == "https", path="/")
                return response
            refusal = "open the address with the secret that lpa web printed (each address works once)"
        if refusal is None:
            refusal = guard.origin_refusal(request.method, request.headers.get("Origin"), request.host)
        if refusal is not None:
            return Response(f"refused: {refusal}\n", 403, mimetype="text/plain")
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if isinstance(error, RequestEntityTooLarge):
            desk.tell("error", f"the upload is larger than {MAX_UPLOAD // (1024 * 1024)} MiB; "
                               "give a smaller image of the QR code (a screenshot or a crop)")
            return redirect("/", 303)
        return Response(f"{error.code} {error.name}\n", error.code or 500, mimetype="text/plain")

    def act(doing: str, action: Callable[[Any], str], refused: str = "") -> Any:
        """Run ``action`` on the card; its words, or the failure's, go on the next page, which reads the card again.

        ``refused`` heads a refusal of the request (an :class:`InputError`:
        nothing was sent to change the card), e.g. "not renamed".
        """
        try:
            with desk.card(doing) as euicc:
                desk.tell("ok", action(euicc))
        except Exception as error:  # noqa: BLE001 (every failure is shown in words)
            head = f"{refused}: " if refused and isinstance(error, InputError) else ""
            desk.tell("error", head + in_words(error))
        return redirect("/", 303)

    @app.get("/")
    def index() -> Any:
        job = desk.job.to_json() if desk.job is not None else None  # the page shows one moment of the job
        view: dict[str, Any] = {"desk": desk, "job": job, "notices": desk.take_notices(), "scopes": RESET_SCOPES}
        if job is None or job["state"] in ("done", "failed"):
            try:
                with desk.card("reading the card") as euicc:
                    view.update(info=euicc.info(), profiles=euicc.profiles(icons=True, details=True),
                                notifications=euicc.notifications())
            except Busy as error:
                view["busy"] = str(error)
            except Exception as error:  # noqa: BLE001
                view["failure"] = in_words(error)
        return render_template("index.html", **view)

    @app.post("/device")
    def choose_device() -> Any:
        chosen = request.form.get("device", "")
        if chosen in desk.devices and not desk.busy:
            desk.device = chosen
        return redirect("/", 303)

    @app.post("/profile/<operation>")
    def profile(operation: str) -> Any:
        iccid = request.form.get("iccid", "")
        if operation in ("enable", "disable"):
            return act(f"{operation} {iccid}", lambda euicc: getattr(euicc, operation)(
                iccid, reset=True, notify=options.notify).summary(f"{operation}d"))
        if operation == "nickname":
            nickname = request.form.get("nickname", "")
            return act(f"renaming {iccid}", lambda euicc: (
                euicc.set_nickname(iccid, nickname),
                f"nickname of {iccid} set to {nickname!r}" if nickname else f"nickname of {iccid} cleared")[1],
                refused=f"{iccid} not renamed")
        if operation == "delete":
            typed = request.form.get("confirm", "").strip()

            def confirm(target: Any) -> bool:
                if typed != (target.iccid or "")[-4:]:
                    raise InputError(f"not deleted: type the last 4 digits of the ICCID {target.iccid} to delete it")
                return True

            return act(f"deleting {iccid}", lambda euicc: euicc.delete(
                iccid, force=request.form.get("force") == "yes", reset=True, notify=options.notify,
                confirm=confirm).summary("deleted"))
        abort(404)

    @app.post("/default-smdp")
    def default_smdp() -> Any:
        address = request.form.get("address", "").strip()
        return act("setting the default SM-DP+", lambda euicc: (
            euicc.set_default_smdp(address),
            f"default SM-DP+ set to {address}" if address else "default SM-DP+ cleared")[1],
            refused="the default SM-DP+ is unchanged")

    @app.post("/memory-reset")
    def memory_reset() -> Any:
        options_ = {bit for name, bit in RESET_SCOPES.items() if request.form.get(name) == "yes"}
        typed = request.form.get("confirm", "").strip()
        override = request.form.get("override_policy") == "yes"

        def reset(euicc: Any) -> str:
            plan = euicc.plan_memory_reset(options_)
            if plan.empty:
                return "nothing to reset on this eUICC"

            def confirm(chosen: Any) -> bool:
                if typed != chosen.eid[-4:]:
                    raise InputError("nothing was reset: type the last 4 digits of the EID to reset")
                return True

            summary: str = euicc.memory_reset(plan, confirm=confirm, override_policy=override,
                                              notify=options.notify).summary()
            return summary

        return act("resetting the memory", reset)

    @app.post("/notifications/process")
    def process_notifications() -> Any:
        def process(euicc: Any) -> str:
            result = euicc.process_notifications()
            from ..operations.notifications import delivery_notes

            return "; ".join(delivery_notes(result.deliveries)) or "no notification to send"

        return act("sending notifications", process)

    @app.get("/notifications/export")
    def export_notifications() -> Any:
        from ..operations.notification_file import export

        try:
            with desk.card("exporting notifications") as euicc:
                exported = export(euicc)
        except Exception as error:  # noqa: BLE001
            desk.tell("error", in_words(error))
            return redirect("/", 303)
        body = json.dumps(exported.to_json(), indent=2, ensure_ascii=False)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="notifications-{exported.eid}.json"'})

    @app.post("/download")
    def download() -> Any:
        from ..activation import parse_activation_code

        try:
            upload = request.files.get("qr")
            text = request.form.get("code", "").strip()
            if upload is not None and upload.filename:
                activation = parse_activation_code(_read_qr(upload))
            elif text:
                activation = parse_activation_code(text)
            else:
                activation = None  # the default SM-DP+ or an SM-DS event
            given_code = request.form.get("confirmation_code", "")
            desk.start("downloading", _download_work(activation, given_code, options.notify))
        except HTTPException:
            raise  # an upload too large: http_error says so
        except Exception as error:  # noqa: BLE001
            desk.tell("error", in_words(error))
        return redirect("/", 303)

    @app.get("/download/status")
    def download_status() -> Any:
        return jsonify(desk.job.to_json() if desk.job is not None else None)

    @app.post("/download/answer")
    def answer() -> Any:
        job = desk.job
        question = request.form.get("question", "")
        value: Any = request.form.get("value", "")
        if question == "consent":
            value = value == "yes"
        if job is None or not job.answer(question, value):
            desk.tell("error", "that question is no longer asked; see the download's state below")
        return redirect("/", 303)

    @app.post("/download/dismiss")
    def dismiss() -> Any:
        if desk.job is not None and desk.job.state in ("done", "failed"):
            desk.tell("ok" if desk.job.state == "done" else "error", desk.job.outcome)
            desk.job = None
        return redirect("/", 303)

    @app.template_filter("icon")
    def icon(profile: Any) -> str | None:
        """A profile's icon as a data: address (the CSP allows data: images only)."""
        if not profile.icon or profile.icon_type not in ("png", "jpg"):
            return None
        kind = "png" if profile.icon_type == "png" else "jpeg"
        return f"data:image/{kind};base64,{base64.b64encode(profile.icon).decode()}"

    return app


def _read_qr(upload: Any) -> str:
    """The activation code in an uploaded QR code image; bounded in size (MAX_CONTENT_LENGTH) and type."""
    from ..qr import activation_code_in

    if upload.mimetype not in IMAGE_TYPES:
        raise InputError(f"{upload.filename}: not an image the page reads (PNG, JPEG, GIF, WebP or BMP)")
    return activation_code_in(upload.stream.read(), upload.filename)  # bounded by MAX_CONTENT_LENGTH


def _download_work(activation: Any, given_code: str, notify: bool) -> Callable[[Any, Job], str]:
    """The download, as the job thread runs it: each question to the page waits in ``job``."""

    def work(euicc: Any, job: Job) -> str:
        nonlocal activation
        if activation is None:
            def choose(events: list[Any]) -> Any:
                job.events = [dict(e.to_json(), number=i) for i, e in enumerate(events, 1)]
                picked = job.ask("event")
                chosen = [e for i, e in enumerate(events, 1) if str(i) == picked]
                if not chosen:
                    raise InputError("no SM-DS event was chosen; nothing was downloaded")
                return chosen[0]

            job.step = "looking for a profile at the default SM-DP+ or the SM-DS"
            activation = euicc.activation_without_code(choose=choose,
                                                       say=lambda message: setattr(job, "step", message))

        def consent(offer: Any) -> bool:
            job.offer = offer.to_json()
            job.step = "waiting for your consent"
            agreed = job.ask("consent") is True
            job.step = "preparing the download" if agreed else "cancelling"
            return agreed

        def confirmation_code() -> str:
            if given_code:
                return given_code
            job.step = "waiting for the confirmation code"
            code: str | None = job.ask("code")
            if not code:
                raise InputError("no confirmation code was given; the download is cancelled")
            job.step = "preparing the download"
            return code

        def progress(done: int, total: int) -> None:
            job.step, job.done, job.total = "installing on the eUICC", done, total

        job.step = f"authenticating with the SM-DP+ {activation.smdp_address}"
        result = euicc.download(activation, consent=consent, confirmation_code=confirmation_code, notify=notify,
                                progress=progress)
        if result.result.error:
            raise LpaError(result.summary())
        summary: str = result.summary()
        return summary

    return work

