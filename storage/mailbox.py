"""A `Notifier` that keeps mail in a local mbox file: a demo needs no SMTP server.

`idmflow serve --demo` uses it when IDMFLOW_SMTP_URL is not set; the Outbox page then shows
each mail as delivered to this mailbox, and any mail reader (`mutt -f FILE`) opens it.
"""

from __future__ import annotations

import mailbox
import threading
from pathlib import Path

from idmflow.engine.ports import Notification

from .smtp import DEFAULT_SENDER, compose


class LocalMailbox:
    """Appends each notification to the mbox file at `path` (created 0600 if missing)."""

    def __init__(self, path: str | Path, *, sender: str = DEFAULT_SENDER) -> None:
        self.path = Path(path)
        self._sender = sender
        self._lock = threading.Lock()

    def __str__(self) -> str:
        return f"local mailbox {self.path}"

    def send(self, notification: Notification) -> None:
        message = compose(notification, sender=self._sender)
        if not self.path.exists():
            self.path.touch(mode=0o600)
        with self._lock:
            box = mailbox.mbox(self.path, create=True)
            box.lock()
            try:
                box.add(message)
                box.flush()
            finally:
                box.unlock()
                box.close()
