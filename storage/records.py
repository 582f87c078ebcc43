"""The rows storage hands back, as plain frozen data: entities, audit events, tasks.

Storage builds these from its own tables, so no SQLAlchemy `Row` crosses into the engine;
the engine exports them as its read models (`idmflow.engine.EntityRecord`, ...).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar


_T = TypeVar("_T")


def jsonable(value: Any) -> Any:
    """A value as JSON carries it (times as ISO 8601)."""
    return value.isoformat() if isinstance(value, dt.datetime) else value


def aware(value: _T) -> _T:
    """`value`, a naive datetime made UTC: SQLite hands back naive datetimes for
    timezone-aware columns, and every time idmflow stores is UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """An entity (a card) as stored."""

    id: int
    kind: str
    subject: str
    type: str
    state: str
    instance_id: int | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit event: who moved what from where to where, when and why."""

    id: int
    at: dt.datetime
    actor: str
    subject_kind: str
    subject_id: int
    instance_id: int | None
    trigger: str
    source: str | None
    dest: str | None
    reason: str | None
    #: facts beyond the columns, e.g. a login's account name and client address
    data: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class TaskView:
    """A human task as its form and lists show it."""

    id: int
    instance_id: int
    process: str
    kind: str
    role: str
    status: str
    title: str
    requested_by: str
    payload: dict[str, Any]
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    decided_by: str | None
    decision: str | None
    reason: str | None

    @property
    def is_open(self) -> bool:
        """Open or postponed: it stays in the approvers' list until closed."""
        return self.status != "done"

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in asdict(self).items()}


Record = TypeVar("Record")


_NAMES: dict[type, tuple[str, ...]] = {}


def record_of(kind: type[Record], row: Any) -> Record:
    """A row (anything with the record's fields as attributes) as the record `kind`."""
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(kind))  # type: ignore[arg-type]
    return kind(**{name: getattr(row, name) for name in names})
