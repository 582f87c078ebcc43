"""`InstanceView`: a process instance as callers and handlers see it (plain, frozen data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class InstanceView:
    """One run of a process, as read from storage."""

    id: int
    process: str
    state: str
    version: int
    started_by: str
    options_version: str
    options: Mapping[str, Any]
    data: Mapping[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    ended_at: dt.datetime | None
    #: the triggers allowed in `state` under the instance's options
    triggers: tuple[str, ...] = ()
    idempotency_key: str | None = None
    #: on hold: kept past its retention
    held: bool = False

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO 8601)."""
        return {
            "id": self.id, "process": self.process, "state": self.state,
            "version": self.version, "started_by": self.started_by,
            "options_version": self.options_version, "options": dict(self.options),
            "data": dict(self.data), "triggers": list(self.triggers),
            "idempotency_key": self.idempotency_key, "held": self.held,
            "created_at": self.created_at.isoformat(), "updated_at": self.updated_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }
