"""The card `lpa web` works on: one operation at a time, and the download that outlives a page.

Every page action takes the desk's lock for the time it talks to the card;
a second request meanwhile gets :class:`Busy` (the page says so and tries
again), so the APDUs of two tabs never interleave. A download runs in its
own thread, holding the lock until it ends; its :class:`Job` stays here, so
a reloaded page shows its progress, and its questions (consent, the
confirmation code, which SM-DS event) wait here for the page's answer.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..errors import LpaError

if TYPE_CHECKING:
    from ..euicc import Euicc

#: How long a question waits for the page's answer before it counts as "no".
ANSWER_WAIT = 600.0


class Busy(LpaError):
    """The card is in use by another operation of lpa web."""

    def __init__(self, doing: str) -> None:
        super().__init__(f"the eUICC is busy ({doing}); this page tries again in a moment")


def in_words(error: BaseException) -> str:
    """An error as the page shows it: lpa's own message, or one line for a bug."""
    if isinstance(error, LpaError):
        return str(error)
    if isinstance(error, OSError):
        return f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    return f"internal error: {type(error).__name__}: {error} (please report it)"


@dataclass
class Job:
    """A download in progress or finished, as the page shows it (:meth:`to_json`)."""

    #: "running", "question", "done" or "failed".
    state: str = "running"
    step: str = "starting"
    #: What is asked while state is "question": "consent", "code" or "event".
    question: str | None = None
    offer: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    done: int = 0
    total: int = 0
    outcome: str = ""
    _answer: Any = None
    _answered: threading.Event = field(default_factory=threading.Event)
    #: Held while state, question and outcome change together, and while they are read.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def to_json(self) -> dict[str, Any]:
        """A consistent snapshot: a page renders from one, never from the job changing under it."""
        with self._lock:
            return {"state": self.state, "step": self.step, "question": self.question, "offer": self.offer,
                    "events": self.events, "done": self.done, "total": self.total, "outcome": self.outcome}

    def ask(self, question: str) -> Any:
        """Wait for the page's answer to ``question`` (None after :data:`ANSWER_WAIT` seconds)."""
        with self._lock:
            self._answered.clear()
            self._answer = None
            self.question, self.state = question, "question"
        self._answered.wait(ANSWER_WAIT)
        with self._lock:
            self.question, self.state = None, "running"  # unanswered: the caller takes None as "no"
            return self._answer

    def answer(self, question: str, value: Any) -> bool:
        """Give the answer to the question asked; False when that is not the question now."""
        with self._lock:
            if self.state != "question" or self.question != question:
                return False
            self._answer = value
            # running from now: the page the answer redirects to must not ask again
            self.question, self.state = None, "running"
            self._answered.set()
            return True

    def end(self, state: str, outcome: str) -> None:
        """The job ended: "done" or "failed", with its outcome in words."""
        with self._lock:
            self.state, self.outcome = state, outcome


class Desk:
    """The devices lpa web offers, the chosen one, and the lock on it."""

    def __init__(self, devices: list[str], open_card: Callable[[str], Euicc]) -> None:
        self.devices = devices
        self.device = devices[0]
        self._open = open_card
        self._lock = threading.Lock()
        self.doing = ""
        self.job: Job | None = None
        #: Messages for the next page: (kind "ok" or "error", text).
        self.notices: list[tuple[str, str]] = []

    @contextmanager
    def card(self, doing: str) -> Iterator[Euicc]:
        """The chosen eUICC, opened for one operation; :class:`Busy` while another holds it."""
        if not self._lock.acquire(blocking=False):
            raise Busy(self.doing)
        try:
            self.doing = doing
            euicc = self._open(self.device)
            with euicc:
                yield euicc
        finally:
            self.doing = ""
            self._lock.release()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    def tell(self, kind: str, text: str) -> None:
        self.notices.append((kind, text))

    def take_notices(self) -> list[tuple[str, str]]:
        notices, self.notices = self.notices, []
        return notices

    def start(self, doing: str, work: Callable[[Euicc, Job], str]) -> Job:
        """Run ``work`` on the card in a thread, holding the lock until it returns; :class:`Busy` if held.

        Its return value, or the failure in words, becomes the job's outcome.
        """
        if not self._lock.acquire(blocking=False):
            raise Busy(self.doing)
        job = self.job = Job()
        self.doing = doing

        def run() -> None:
            try:
                euicc = self._open(self.device)
                with euicc:
                    job.end("done", work(euicc, job))
            except BaseException as error:  # noqa: BLE001 (shown on the page, never lost in a thread)
                job.end("failed", in_words(error))
            finally:
                self.doing = ""
                self._lock.release()

        threading.Thread(target=run, name="lpa-web-job", daemon=True).start()
        return job
