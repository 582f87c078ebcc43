"""Read-only queries of an engine: entities (cards), their states, the audit log, the outbox.

A module of its own because reading needs no step, no actor and no transaction of its own;
`Engine` inherits these and adds everything that writes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from idmflow.storage import audit, entities, outbox
from idmflow.storage.database import problem, safe_url

from .errors import DatabaseUnavailable
from .records import AuditRecord, EntityRecord, MailRecord

_MAIL_FIELDS = tuple(MailRecord.__dataclass_fields__)


class EngineReads:
    """The queries every interface lists things with."""

    db: SqlEngine

    def entities(self, kind: str, *, state: str | None = None, instance_id: int | None = None,
                 subject: str | None = None, ids: Sequence[int] | None = None,
                 limit: int | None = None, offset: int = 0
                 ) -> tuple[list[EntityRecord], int]:
        """Entities of `kind` matching every filter, oldest first, and how many match in all.

        `offset` and `limit` give one page; the database skips the rows before it.
        """
        where = entities.Selection(kind=kind, state=state, instance_id=instance_id,
                                   subject=subject, ids=ids)
        with self._connection() as conn:
            rows = entities.find(conn, where, limit=limit, offset=offset)
            total = (len(rows) if limit is None and not offset
                     else entities.count(conn, where))
        return rows, total

    def entity_states(self, kind: str, *, instance_id: int | None = None) -> dict[str, int]:
        """How many entities of `kind` (of one instance) are in each state."""
        with self._connection() as conn:
            return entities.count_by_state(conn, entities.Selection(kind=kind,
                                                                    instance_id=instance_id))

    def history(self, *, subject_kind: str | None = None, subject_id: int | None = None,
                instance_id: int | None = None, actor: str | None = None,
                limit: int | None = None) -> list[AuditRecord]:
        """Audit events matching every given filter, in the order they happened."""
        with self._connection() as conn:
            return audit.history(conn, subject_kind=subject_kind, subject_id=subject_id,
                                 instance_id=instance_id, actor=actor, limit=limit)

    def outbox(self, *, status: str | None = None, limit: int | None = None,
               mail_id: int | None = None) -> tuple[list[MailRecord], int]:
        """Mails of the outbox, newest first, and how many match in all."""
        with self._connection() as conn:
            rows, total = outbox.find_mail(conn, status=status, limit=limit, mail_id=mail_id)
        return [MailRecord(**{f: getattr(r, f) for f in _MAIL_FIELDS}) for r in rows], total

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        with self._db_errors():
            with self.db.connect() as conn:
                yield conn

    @contextmanager
    def _db_errors(self) -> Iterator[None]:
        try:
            yield
        except (OperationalError, InterfaceError, DBAPIError) as exc:
            reason = problem(exc)
            if reason is not None:
                raise DatabaseUnavailable(safe_url(str(self.db.url)), reason) from exc
            raise
