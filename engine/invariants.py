"""Declared invariants -> the database's partial unique indexes, and upgrading the schema.

Lifecycles declare invariants (`Invariant`); processes name the lifecycles they write
(`ProcessDefinition.lifecycles`). Here those declarations become `storage`'s plain
`UniqueIndex` specs, `upgrade_schema` creates them with the migrations, and `missing`
tells `open()` whether the database holds every invariant the installed processes need.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import InterfaceError, OperationalError

from idmflow.storage import invariants as stored
from idmflow.storage import schema
from idmflow.storage.database import safe_url

from .definitions import Lifecycle
from .errors import DatabaseUnavailable, IdmflowError
from .registry import Registry


def specs(lifecycles: Iterable[Lifecycle]) -> list[stored.UniqueIndex]:
    """One index spec per invariant of each lifecycle."""
    return [stored.UniqueIndex(lc.name, inv.name, inv.unique, inv.states)
            for lc in lifecycles for inv in lc.invariants]


def upgrade_schema(db: SqlEngine, *, registry: Registry | None = None) -> tuple[str | None, str]:
    """Create or upgrade the schema and the indexes of every declared invariant.

    Returns (revision before, revision after).

    Raises:
        IdmflowError: rows already break an invariant (they are listed; nothing changed).
        DatabaseUnavailable: the database cannot be reached.
    """
    registry = registry or Registry.from_entry_points()
    try:
        return schema.upgrade(db, specs(registry.lifecycles()))
    except stored.InvariantsBroken as exc:
        raise IdmflowError(_describe(exc)) from exc
    except (OperationalError, InterfaceError) as exc:
        raise DatabaseUnavailable(safe_url(str(db.url)), str(exc.orig).strip()) from exc


def missing(db: SqlEngine, registry: Registry) -> list[str]:
    """Index names of declared invariants the database does not hold yet."""
    wanted = specs(registry.lifecycles())
    if not wanted:
        return []
    with db.connect() as conn:
        have = stored.existing(conn)
    return [spec.index_name for spec in wanted if spec.index_name not in have]


def _describe(exc: stored.InvariantsBroken) -> str:
    lines = ["the database already breaks invariants the installed processes declare; "
             "nothing was changed:"]
    for spec, found, total in exc.breaches:
        lines.append(f"  {spec.kind} invariant {spec.name!r} (at most one {spec.kind} in "
                     f"{', '.join(spec.states)} per {' and '.join(spec.columns)}): "
                     f"{total:,} group(s) break it")
        for breach in found:
            lines.append(f"    {', '.join(breach.values)}: {spec.kind}s "
                         f"{', '.join(map(str, breach.ids))}")
        if total > len(found):
            lines.append(f"    and {total - len(found):,} more group(s)")
    lines.append("Resolve each group by moving all but one of its rows out of those states "
                 "(for cards: `idmflow cards abort ID,...` or reject them through their task), "
                 "then run `idmflow init` again.")
    return "\n".join(lines)
