"""The default `Clock`: the system's time in UTC."""

from __future__ import annotations

import datetime as dt


class SystemClock:
    """Now, timezone-aware UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)
