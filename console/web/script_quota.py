"""Per-account limits on the editor's sandbox actions (Validate, Preview, Save).

The sandbox has a few workers for the whole console; without a limit one admin (or a
stolen admin session) with several tabs could keep every worker busy and make everyone
else's Validate wait, then fail. Each account may run one action at a time and a bounded
number a minute. The counts belong to the Flask app: a console behind several processes
gives each its own, which bounds a single account all the same.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

#: actions one account may have running at once, and start within a minute
AT_ONCE = 1
PER_MINUTE = 30


class QuotaExceeded(Exception):
    """This account is over its limit; the message says what to do."""


class _Quota:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.started: dict[str, deque[float]] = {}


@contextmanager
def sandbox_action(account: str) -> Iterator[None]:
    """Hold one of `account`'s action slots while the body runs.

    Raises:
        QuotaExceeded: the account already runs one, or started too many this minute.
    """
    quota: _Quota = current_app.extensions.setdefault("idmflow.script_quota", _Quota())
    now = time.monotonic()
    with quota.lock:
        recent = quota.started.setdefault(account, deque())
        while recent and recent[0] < now - 60:
            recent.popleft()
        if quota.running.get(account, 0) >= AT_ONCE:
            raise QuotaExceeded("Another Validate, Preview or Save of yours is still running; "
                                "wait for it to finish, then try again.")
        if len(recent) >= PER_MINUTE:
            raise QuotaExceeded(f"You ran {PER_MINUTE} Validate, Preview or Save actions in "
                                "the last minute; wait a moment, then try again.")
        recent.append(now)
        quota.running[account] = quota.running.get(account, 0) + 1
    try:
        yield
    finally:
        with quota.lock:
            quota.running[account] -= 1
            if not quota.running[account]:
                del quota.running[account]
