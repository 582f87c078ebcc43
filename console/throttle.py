"""Login throttling: growing delays, then a temporary lock, by account and by address.

Counted over the last 15 minutes of failures (wrong password or unknown name):

- per account name: from the 4th failure a growing wait (1, 2, 4, ... s, at most a minute)
  before the next try; after 10 failures the name is locked until its oldest failure in
  the window is 15 minutes old (an admin may unlock it sooner);
- per client address: the same with 20 and 60, so one address trying many names is
  slowed too.

A refused try checks no password and is not counted, so hammering a locked name does not
extend its lock. The lock concerns logins only: the CLI's `--as` is not a login.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Limit:
    """When waits start and when a lock starts, in failures within `WINDOW`."""

    delay_from: int
    lock_at: int


ACCOUNT = Limit(delay_from=4, lock_at=10)
CLIENT = Limit(delay_from=20, lock_at=60)
MAX_DELAY = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a login is not tried now, and for how long."""

    wait: dt.timedelta
    locked: bool

    @property
    def message(self) -> str:
        seconds = max(1, math.ceil(self.wait.total_seconds()))
        if seconds < 60:
            return f"Too many attempts; try again in {seconds} second{'s' if seconds > 1 else ''}."
        minutes = math.ceil(seconds / 60)
        return f"Too many attempts; try again in {minutes} minute{'s' if minutes > 1 else ''}."


def refusal(failures: Sequence[dt.datetime], limit: Limit, now: dt.datetime
            ) -> Refusal | None:
    """Whether a login must wait, given the failures (oldest first) within `WINDOW`."""
    recent = [at for at in failures if now - at < WINDOW]
    if len(recent) >= limit.lock_at:
        until = recent[-limit.lock_at] + WINDOW
        return Refusal(until - now, locked=True)
    if len(recent) >= limit.delay_from:
        delay = min(dt.timedelta(seconds=2 ** (len(recent) - limit.delay_from)), MAX_DELAY)
        wait = recent[-1] + delay - now
        if wait > dt.timedelta(0):
            return Refusal(wait, locked=False)
    return None


def is_lock(failures_before: int, limit: Limit = ACCOUNT) -> bool:
    """Whether one more failure after `failures_before` starts a lock (to audit it once)."""
    return failures_before + 1 == limit.lock_at
