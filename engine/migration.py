"""The versions an instance runs under, and moving a stuck one to the current options.

An instance records, when it starts, its definition's version and the option-script
version it reads. Neither changes by itself: the engine fires an instance only under a
definition that runs its version (`check_version`), and a later script edit never reaches a
running instance. That second rule has a price: an instance started under a script version
whose rule fails at run time is stuck, however often the admin fixes the script. So a failed
rule is recorded on the instance (audit trigger `rule_failed`, with the item it failed for),
and an admin may move the instance to the current version (`OptionMigration.migrate`),
which first tries the fix on that item and is itself audited (`migrate_options`: who, from
which version, to which).

A module of its own because it reads and writes the instance's versions, not its state:
runtime fires triggers, this decides which versions an instance may go on under.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Row

from idmflow.storage import audit, instances
from idmflow.storage.instances import InstanceRow

from .compiler import compile_process
from .definitions import ProcessDefinition
from .errors import (Conflict, NotAllowed, NotFound, OptionScriptError, RuleFailed,
                     UnknownDefinitionVersion)
from .options import OptionsProvider
from .ports import Clock
from .registry import Registry
from .scripts import OptionScripts

#: audit triggers of this module (subject: the instance)
FAILED = "rule_failed"
MIGRATED = "migrate_options"

Transaction = Callable[[], AbstractContextManager[Connection]]


def check_version(definition: ProcessDefinition, instance_id: int, version: str) -> None:
    """Refuse to go on with an instance whose definition version the installed one does not
    run: `UnknownDefinitionVersion` says which and how to get on."""
    if version != definition.version and version not in definition.compatible_versions:
        raise UnknownDefinitionVersion(definition.name, instance_id, version,
                                       definition.version)


class OptionMigration:
    """Records failed rules on instances and moves stuck instances to the current options."""

    def __init__(self, transaction: Transaction, connection: Transaction, registry: Registry,
                 scripts: OptionScripts, clock: Clock) -> None:
        self._transaction = transaction
        self._connection = connection
        self._registry = registry
        self._scripts = scripts
        self._clock = clock

    def record_failure(self, instance_id: int, *, trigger: str, actor: str,
                       error: RuleFailed) -> None:
        """Note on the instance that `trigger` was refused because a rule failed, in a
        transaction of its own (the refused one has rolled back)."""
        with self._transaction() as conn:
            row = instances.load_instance(conn, instance_id)
            if row is None:
                return
            audit.record(conn, [self._event(
                actor, instance_id, FAILED, row.state, row.state, reason=str(error)[:2000],
                data={"trigger": trigger, "rule": error.rule, "item": _plain(error.item),
                      "options_version": error.options_version})])

    def migrate(self, instance_id: int, *, actor: str, options: OptionsProvider) -> str:
        """Move an instance to the option version `options` serves now; returns it.

        Raises:
            NotFound: no such instance or account.
            NotAllowed: `actor` is not an admin, the instance has ended, it already runs
                with the current version, or the current options switch off its step.
            OptionScriptError: the rule that failed for it still fails under the current
                version (for the same item); nothing is changed.
            Conflict: the instance changed meanwhile; try again.
        """
        self._scripts.require_admin(actor, f"move instance {instance_id} to the current "
                                           "options")
        with self._connection() as conn:
            row = instances.load_instance(conn, instance_id)
            if row is None:
                raise NotFound(f"no process instance {instance_id}")
            failure = audit.latest(conn, "instance", instance_id, FAILED)
        definition = self._registry.get(row.process)
        check_version(definition, instance_id, row.process_version)
        current = options.snapshot(definition)
        self._check_movable(row, definition, current.version, current.values)
        if failure is not None and failure.data["options_version"] == row.options_version:
            self._retry(row, definition, current.version, failure)
        with self._transaction() as conn:
            if not instances.update_options(
                    conn, instance_id, expected_version=row.version,
                    options_version=current.version, options=dict(current.values),
                    now=self._clock.now()):
                raise Conflict(f"instance {instance_id} changed while it was being moved; "
                               "nothing was changed; try again")
            audit.record(conn, [self._event(
                actor, instance_id, MIGRATED, row.options_version, current.version,
                data={"from": row.options_version, "to": current.version, "state": row.state})])
        return current.version

    def _event(self, actor: str, instance_id: int, trigger: str, source: str, dest: str, *,
               data: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return audit.event(at=self._clock.now(), actor=actor, subject_kind="instance",
                           subject_id=instance_id, instance_id=instance_id, trigger=trigger,
                           source=source, dest=dest, reason=reason, data=data)

    @staticmethod
    def _check_movable(row: InstanceRow, definition: ProcessDefinition, version: str,
                       values: Any) -> None:
        if row.ended_at is not None:
            raise NotAllowed(f"instance {row.id} of {row.process!r} has ended ({row.state}, at "
                             f"{row.ended_at:%Y-%m-%d %H:%M:%S}); an ended instance keeps the "
                             "options it ran with")
        if row.options_version == version:
            raise NotAllowed(f"instance {row.id} already runs with {version}, the current "
                             "options: there is nothing to migrate. Save a fixed script "
                             "first (`idmflow scripts save`)")
        compiled = compile_process(definition, values)
        if row.state not in compiled.states:
            raise NotAllowed(f"instance {row.id} waits in step {row.state!r}, which the current "
                             f"options ({version}) switch off; nothing was changed. Switch it "
                             "on again in the script, or let the instance go on under "
                             f"{row.options_version}")

    def _retry(self, row: InstanceRow, definition: ProcessDefinition, version: str,
               failure: Row[Any]) -> None:
        """Try the rule that failed for the instance on the same item, under `version`."""
        rule, item = failure.data["rule"], failure.data["item"]
        shown = json.dumps(item, sort_keys=True)
        try:
            self._scripts.apply_rule(definition, version, rule, [] if item is None else [item])
        except RuleFailed as exc:
            raise OptionScriptError(
                f"instance {row.id} stays on {row.options_version}: rule {rule!r} still fails "
                f"under {version} for the item it failed for ({shown}): "
                f"{'; '.join(exc.problems)}. Fix the script, save it, and migrate again",
                script=exc.script, line=exc.line, problems=exc.problems) from exc


def _plain(value: Any) -> Any:
    """An item as JSON stores it (tuples become lists), so a retry passes what was passed."""
    return json.loads(json.dumps(value, default=str))
