"""Delivering the outbox while the console serves: `idmflow serve` runs one of these.

Mail is written to the outbox in the transaction of what it reports; this thread hands it
to the notifier (SMTP) every few seconds. A mail that fails stays in the outbox with its own
back-off, so the loop simply tries again next round; failures go to the log, never to a
page. Several console processes may each run one: the outbox is claimed row by row, so no
mail goes out twice from two senders.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from idmflow.engine import Engine, IdmflowError

log = logging.getLogger(__name__)

#: mails per round; the rest wait for the next round
ROUND_LIMIT = 200


class MailDelivery:
    """A daemon thread that delivers the due mail every `interval` seconds until stopped."""

    def __init__(self, engine: Engine, *, interval: float = 10.0,
                 report: Callable[[str], None] | None = None) -> None:
        self._engine = engine
        self._interval = interval
        self._report = report or log.warning
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="idmflow-mail", daemon=True)
        #: mails sent since the start
        self.sent = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def deliver_once(self) -> None:
        """One round: deliver what is due, report what failed."""
        try:
            result = self._engine.deliver_mail(limit=ROUND_LIMIT)
        except IdmflowError as exc:  # e.g. the database is briefly unreachable
            self._report(f"mail delivery: {exc}")
            return
        self.sent += result.sent
        if result.errors:
            self._report(f"mail delivery: {len(result.errors)} mail(s) failed and are retried "
                         f"later; first: {result.errors[0]}")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_once()
            except Exception:  # a bug must not end delivery for the life of the server
                log.exception("mail delivery failed")
            self._stop.wait(self._interval)
