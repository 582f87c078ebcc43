"""The one exception hierarchy of idmflow.

Every error idmflow raises on purpose is an `IdmflowError`; the CLI prints its message and
exits 1, the console shows it on the page. The facts are attributes too, so an interface
shows them without parsing the message. Anything else that escapes is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class IdmflowError(Exception):
    """Base of every error idmflow raises on purpose."""


class DefinitionError(IdmflowError):
    """A process definition is invalid; raised when it loads, naming every problem."""

    def __init__(self, process: str, problems: Sequence[str]) -> None:
        self.process = process
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"process {process!r} is invalid:\n{lines}")


class OptionScriptError(IdmflowError):
    """An option script is refused: syntax, forbidden construct, wrong type, limit hit."""

    def __init__(self, message: str, *, script: str | None = None, line: int | None = None,
                 problems: Sequence[str] = ()) -> None:
        self.script = script
        self.line = line
        self.problems = tuple(problems) or (message,)
        super().__init__(message)


class RuleFailed(OptionScriptError):
    """A rule of an option script failed at run time (the step is refused, nothing written).

    `item` is the item it failed for (None when the script failed before any), so an
    admin's fix can be tried on it before an instance moves to the fixed version.
    """

    def __init__(self, message: str, *, script: str, options_version: str, rule: str,
                 item: Any = None, line: int | None = None,
                 problems: Sequence[str] = ()) -> None:
        self.options_version = options_version
        self.rule = rule
        self.item = item
        super().__init__(message, script=script, line=line, problems=problems)


class InputError(IdmflowError):
    """What a person entered is wrong; `problems` holds every problem, not just the first."""

    def __init__(self, problems: Sequence[str] | str, *, details: dict[str, list[str]] | None = None
                 ) -> None:
        self.problems = (problems,) if isinstance(problems, str) else tuple(problems)
        #: machine-readable facts, e.g. {"not_active": ["jdoe"]}
        self.details = details or {}
        super().__init__("; ".join(self.problems))


class NotAllowed(IdmflowError):
    """The trigger is not allowed in this state, a role is missing, or it is one's own request."""


class UnknownDefinitionVersion(NotAllowed):
    """An instance was started under a version of its definition that this installation no
    longer runs, and the installed version does not declare it compatible."""

    def __init__(self, process: str, instance_id: int, version: str, current: str) -> None:
        self.process = process
        self.instance_id = instance_id
        self.version = version
        self.current = current
        super().__init__(
            f"instance {instance_id} of {process!r} was started under definition version "
            f"{version!r}, and the installed {process!r} is version {current!r}, which does not "
            f"declare it compatible; nothing was changed. Finish it with a release that runs "
            f"version {version!r}, or, if version {current!r} runs such instances unchanged, "
            f"add {version!r} to the definition's compatible_versions")


class NotFound(IdmflowError):
    """No such process, instance, user, card or account."""


class Conflict(IdmflowError):
    """Someone changed it first; reload and try again."""


class InvariantViolation(Conflict):
    """A write would break an invariant the database holds (e.g. one open card per holder).

    `holders` maps each subject whose entity collides to what it already holds: (entity id,
    process instance id or None), so an interface can name who made it; None when the
    write itself named the subject twice.
    """

    def __init__(self, kind: str, invariant: str,
                 holders: Mapping[str, tuple[int, int | None] | None], *, doc: str = "") -> None:
        self.kind = kind
        self.invariant = invariant
        self.holders = dict(holders)
        shown = ", ".join(
            f"{subject} (given twice)" if held is None else
            f"{subject} ({kind} {held[0]}" + (f" of instance {held[1]})" if held[1] else ")")
            for subject, held in list(self.holders.items())[:20])
        more = f" and {len(self.holders) - 20:,} more" if len(self.holders) > 20 else ""
        rule = f" ({doc})" if doc else ""
        super().__init__(
            f"{kind} invariant {invariant!r}{rule} would be broken for {len(self.holders):,} "
            f"subject(s): {shown}{more}; nothing was written")


class DatabaseUnavailable(IdmflowError):
    """The database cannot be reached; the URL is shown without its password."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(
            f"cannot reach the database {url}: {reason}. Check IDMFLOW_DATABASE_URL and that "
            "the server is running."
        )
