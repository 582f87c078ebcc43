"""Option scripts as the engine sees them: schema, validation, versions, options, rules.

The sandbox (`idmflow.option_scripts`) evaluates a script and hands back values or problems
as plain data; here they are checked against the options and rules the processes declare,
turned into `OptionScriptError`s, stored as versions, and served as the options a process
starts with. A script's values are computed once, when the version is saved; starting a
process reads them. Rules run in the sandbox, one call for all the items of a batch.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.exc import DataError

from idmflow.storage import audit, scripts
from idmflow.storage.scripts import ScriptRow

from .definitions import OptionSpec, ProcessDefinition, RuleSpec
from .errors import NotAllowed, NotFound, OptionScriptError, RuleFailed
from .options import OptionsSnapshot
from .ports import Accounts, Clock
from .registry import Registry

if TYPE_CHECKING:
    # The sandbox loads when a script is evaluated or a rule runs, not with every command.
    from idmflow.option_scripts import Evaluation, Problem

ADMIN_ROLE = "admin"
DEFAULTS = "defaults"


@dataclass(frozen=True, slots=True)
class ScriptVersion:
    """One stored version of an option script."""

    name: str
    version: int
    author: str
    comment: str
    created_at: dt.datetime
    values: Mapping[str, Any]
    rules: tuple[str, ...]
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "author": self.author,
                "comment": self.comment, "created_at": self.created_at.isoformat(),
                "values": dict(self.values), "rules": list(self.rules),
                **({"source": self.source} if self.source is not None else {})}


@dataclass(frozen=True, slots=True)
class ScriptSchema:
    """What a script is checked against: every option and rule of the processes using it."""

    name: str
    options: tuple[OptionSpec, ...]
    rules: tuple[RuleSpec, ...]
    default_script: Path | None
    processes: tuple[str, ...]


def _problems(name: str, problems: Sequence[Problem]) -> OptionScriptError:
    from idmflow.option_scripts.sizes import Sizes, capped, more_text

    lines = [p.message if p.line is None or p.message.startswith("line ")
             else f"line {p.line}: {p.message}" for p in problems]
    limit = Sizes().problems
    if len(lines) > limit + 1:  # the schema checks' (the sandbox's come capped, counted)
        lines = capped(lines, limit, more_text)
    first = next((p.line for p in problems if p.line is not None), None)
    return OptionScriptError(f"option script {name!r} is refused:\n" + "\n".join(
        f"  {line}" for line in lines), script=name, line=first, problems=lines)


def version_ref(name: str, version: int) -> str:
    """How an instance records the script version it started with."""
    return f"{name}@{version}"


class OptionScripts:
    """The option scripts of one engine: an `OptionsProvider` and the admin's operations."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Connection]],
                 connection: Callable[[], AbstractContextManager[Connection]],
                 registry: Registry, accounts: Accounts, clock: Clock) -> None:
        self._transaction = transaction
        self._connection = connection
        self._registry = registry
        self._accounts = accounts
        self._clock = clock
        self._sources: dict[str, tuple[str | None, frozenset[str]]] = {}

    # -- schema and validation ---------------------------------------------------------

    def schema(self, name: str) -> ScriptSchema:
        """The options and rules of every process that reads script `name`."""
        users = [d for d in self._registry.all() if d.option_script == name]
        if not users:
            known = ", ".join(self.names()) or "none"
            raise NotFound(f"no option script {name!r}; known scripts: {known}")
        options: dict[str, OptionSpec] = {}
        rules: dict[str, RuleSpec] = {}
        for d in users:  # the registry refused processes declaring an option otherwise
            for o in d.options:
                options.setdefault(o.name, o)
            for r in d.rules:
                rules.setdefault(r.name, r)
        default = next((d.default_script for d in users if d.default_script), None)
        return ScriptSchema(name, tuple(options.values()), tuple(rules.values()), default,
                            tuple(d.name for d in users))

    def names(self) -> list[str]:
        """Every script some registered process reads."""
        return sorted({d.option_script for d in self._registry.all() if d.option_script})

    def evaluate(self, source: str, *, name: str | None = None) -> Evaluation:
        """Run `source` in the sandbox; with `name`, check it against that script's schema.

        Raises:
            OptionScriptError: every problem, each with its line.
        """
        from idmflow.option_scripts import OptionSchema, RuleSchema, check, default_sandbox

        label = name or "<file>"
        evaluation = default_sandbox().evaluate(source, name=label)
        problems = list(evaluation.problems)
        if not problems and name is not None:
            schema = self.schema(name)
            problems = list(check(
                evaluation,
                [OptionSchema(o.name, o.type, o.default, o.doc) for o in schema.options],
                [RuleSchema(r.name, r.params, r.doc) for r in schema.rules]))
        if problems:
            raise _problems(label, problems)
        return evaluation

    # -- versions ------------------------------------------------------------------------

    def save(self, name: str, source: str, *, author: str, comment: str = "",
             trigger: str = "save") -> ScriptVersion:
        """Validate and store the next version of `name` (admins only); it is active at once.

        Raises:
            NotAllowed: `author` is not an admin.
            OptionScriptError: the script is refused; the previous version stays active.
        """
        self.require_admin(author, f"save option script {name!r}")
        if "\x00" in comment:
            raise OptionScriptError(f"the comment on option script {name!r} holds a NUL "
                                    "character (\\x00), which cannot be stored; remove it",
                                    script=name)
        evaluation = self.evaluate(source, name=name)
        try:
            with self._transaction() as conn:
                return self._append(conn, name, source, evaluation, author, comment, trigger)
        except (DataError, UnicodeEncodeError) as exc:
            # what the sandbox accepted but the database cannot hold (a NUL in the comment,
            # on PostgreSQL): the transaction rolled back, the active version stays
            raise OptionScriptError(
                f"option script {name!r} cannot be stored: the database refuses its source "
                "or comment (a NUL character or text that is not valid UTF-8); remove such "
                "characters and save again", script=name) from exc

    def restore(self, name: str, version: int, *, author: str) -> ScriptVersion:
        """Make an old version active again, as a new version (history is never rewritten)."""
        self.require_admin(author, f"restore option script {name!r}")
        old = self.show(name, version)
        assert old.source is not None
        return self.save(name, old.source, author=author,
                         comment=f"restored version {version}", trigger="restore")

    def install_defaults(self, *, author: str = "idmflow") -> list[ScriptVersion]:
        """Store the shipped default of every script that has no version yet."""
        installed = []
        for name in self.names():
            default = self.schema(name).default_script
            with self._connection() as conn:
                exists = scripts.latest(conn, name) is not None
            if exists or default is None:
                continue
            source = default.read_text(encoding="utf-8")
            evaluation = self.evaluate(source, name=name)
            with self._transaction() as conn:
                scripts.lock(conn, name)
                if scripts.latest(conn, name) is not None:
                    continue  # a concurrent `idmflow init` installed it first
                installed.append(self._append(conn, name, source, evaluation, author,
                                              "default shipped with idmflow", "install"))
        return installed

    def show(self, name: str, version: int | None = None) -> ScriptVersion:
        """A stored version with its source (default: the active one)."""
        with self._connection() as conn:
            row = scripts.latest(conn, name) if version is None else scripts.get(conn, name,
                                                                                 version)
        if row is None:
            what = "any version" if version is None else f"version {version}"
            raise NotFound(f"option script {name!r} has no {what}; see `idmflow scripts "
                           f"history {name}`" + (" or run `idmflow init`" if version is None
                                                 else ""))
        return _version(row, with_source=True)

    def history(self, name: str) -> list[ScriptVersion]:
        """Every version of `name`, oldest first."""
        with self._connection() as conn:
            rows = scripts.history(conn, name)
        if not rows:
            self.schema(name)  # NotFound for a name no process reads
        return [_version(r, with_source=False) for r in rows]

    # -- what processes read ---------------------------------------------------------------

    def snapshot(self, definition: ProcessDefinition) -> OptionsSnapshot:
        """The process's declared options under the active version of its script."""
        values = definition.defaults()
        if definition.option_script is None:
            return OptionsSnapshot(DEFAULTS, values)
        with self._connection() as conn:
            row = scripts.latest(conn, definition.option_script)
        if row is None:
            return OptionsSnapshot(DEFAULTS, values)
        values.update({k: v for k, v in row.values.items() if k in values})
        return OptionsSnapshot(version_ref(row.name, row.version), values)

    def preview(self, definition: ProcessDefinition, source: str) -> dict[str, Any]:
        """The options `definition` would run with under a not-yet-saved script."""
        evaluation = self.evaluate(source, name=definition.option_script)
        values = definition.defaults()
        values.update({k: v for k, v in evaluation.values.items() if k in values})
        return values

    def apply_rule(self, definition: ProcessDefinition, options_version: str, rule: str,
                   items: Sequence[Any]) -> list[Any]:
        """`rule` for every item, as the script version the instance started with defines it.

        One call to the sandbox for all items; the process's default when the script has
        no such rule.

        Raises:
            RuleFailed: the rule failed (for `.item`); the step that called it is refused.
        """
        from idmflow.option_scripts import default_sandbox

        spec = definition.rule(rule)
        source, defined = self._stored(options_version)
        if source is None or rule not in defined:
            return spec.apply_default(items)
        items = list(items)
        script = options_version.split("@")[0]
        results = default_sandbox().call_rule(source, rule, items, name=script)
        if not results.ok:
            error = _problems(options_version, results.problems)
            failed = None if results.failed_item is None else items[results.failed_item]
            raise RuleFailed(str(error), script=script, options_version=options_version,
                             rule=rule, item=failed, line=error.line, problems=error.problems)
        return list(results.results)

    # -- helpers -------------------------------------------------------------------------

    def _stored(self, options_version: str) -> tuple[str | None, frozenset[str]]:
        """A stored version's source and rule names, cached: a saved version never changes."""
        if options_version not in self._sources:
            name, _, number = options_version.rpartition("@")
            row = None
            if name and number.isdigit():
                with self._connection() as conn:
                    row = scripts.get(conn, name, int(number))
            self._sources[options_version] = ((row.source, frozenset(row.rules)) if row
                                              else (None, frozenset()))
        return self._sources[options_version]

    def require_admin(self, author: str, what: str) -> None:
        """`NotAllowed` unless `author` is an admin account (`NotFound` if there is none)."""
        account = self._accounts.get(author)
        if account is None:
            raise NotFound(f"no account {author!r}")
        if ADMIN_ROLE not in account.roles:
            raise NotAllowed(f"{author!r} may not {what}: only accounts with the role "
                             f"{ADMIN_ROLE!r} may")

    def _append(self, conn: Connection, name: str, source: str, evaluation: Evaluation,
                author: str, comment: str, trigger: str) -> ScriptVersion:
        scripts.lock(conn, name)  # what `previous` says stays true until the commit
        previous = scripts.latest(conn, name)
        row = scripts.append(
            conn, name, source=source, values=json.loads(json.dumps(evaluation.values)),
            rules={r.name: {"params": list(r.params), "line": r.line}
                   for r in evaluation.rules.values()},
            author=author, comment=comment, now=self._clock.now())
        audit.record(conn, [audit.event(
            at=row.created_at, actor=author, subject_kind="script", subject_id=row.id,
            instance_id=None, trigger=trigger,
            source=version_ref(name, previous.version) if previous else None,
            dest=version_ref(name, row.version), reason=comment or None,
            data={"name": name, "version": row.version})])
        return _version(row, with_source=True)


def _version(row: ScriptRow, *, with_source: bool) -> ScriptVersion:
    return ScriptVersion(row.name, row.version, row.author, row.comment, row.created_at,
                         row.values, tuple(row.rules), row.source if with_source else None)


__all__ = ["OptionScripts", "ScriptSchema", "ScriptVersion", "version_ref"]
