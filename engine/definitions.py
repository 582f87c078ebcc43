"""What a process is: frozen dataclasses a use case fills in as data.

A `ProcessDefinition` is the spec of a use case (its steps, transitions, roles and options);
a `Lifecycle` is the spec of an entity's states (a card's). Neither runs anything: the
compiler turns them, under one snapshot of option values, into a `CompiledProcess`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .jobs import JobKind
    from .retention import Retention
    from .schedules import Schedule

#: A step handler: a function of the step's `StepContext`; it runs inside the transition's
#: transaction, and raising aborts it. The context is typed `Any` here because the spec is
#: below the run time: the contexts (`engine/context.py`) use these definitions, so the
#: definitions cannot name the contexts without an import circle. Annotate your handler
#: `def step(ctx: StepContext) -> None` and mypy checks its body.
Handler = Callable[[Any], None]
#: A task's decision: a function of the decision's `TaskContext` returning how many items
#: are still undecided (typed `Any` for the same reason as `Handler`).
Decider = Callable[[Any], int]

@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option a process reads: its name in the option script, type, default and meaning."""

    name: str
    type: type
    default: Any
    doc: str


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule a process calls: a function the option script may define.

    `params` are the arguments the process passes, positionally. When the active script
    does not define the rule, `default` (host code of the process) answers instead.
    """

    name: str
    params: tuple[str, ...]
    default: Callable[..., Any]
    doc: str = ""

    def apply_default(self, items: Sequence[Any]) -> list[Any]:
        """`default` for every item: a list or tuple item is the arguments, else the one."""
        return [self.default(*(i if isinstance(i, (list, tuple)) else (i,))) for i in items]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A human task a process opens (an approval): who acts on it and what deciding does.

    The task is assigned to the role named by option `role_option` (or `role`). People of
    that role may make the `decisions`; the account that started the instance may make the
    `requester_decisions` (e.g. abort), and decides its own request only when the bool
    option `self_decision_option` allows it. Nobody decides a task holding an item (an
    entity of the instance) whose subject is themselves unless the bool option
    `holder_decision_option` allows it (`engine/deciders.py` is the rule). `decide` applies a decision and returns how
    many items are still undecided; at 0 the task closes and `complete` fires.
    """

    kind: str
    decide: Decider
    role: str | None = None
    role_option: str | None = None
    self_decision_option: str | None = None
    holder_decision_option: str | None = None
    decisions: tuple[str, ...] = ("approve", "reject", "postpone")
    requester_decisions: tuple[str, ...] = ("abort",)
    complete: str = "complete"


@dataclass(frozen=True, slots=True)
class Step:
    """A state of a process that people see.

    `view` names the Jinja2 template that shows the step; `enabled_by` names a bool option
    without which the step (and every transition touching it) is absent from the graph.
    """

    name: str
    title: str = ""
    view: str | None = None
    final: bool = False
    enabled_by: str | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """A trigger moving from one of `source` to `dest`.

    `when`/`unless` name bool options that keep or drop the transition when compiled.
    `roles` lists the roles that may fire it; empty means only the account that started
    the instance; `automatic` means only the engine fires it (e.g. when a task closes).
    `handler` does the work of the step inside the same transaction.
    """

    trigger: str
    source: tuple[str, ...]
    dest: str
    handler: Handler | None = None
    when: str | None = None
    unless: str | None = None
    roles: tuple[str, ...] = ()
    automatic: bool = False

    def __init__(self, trigger: str, source: str | tuple[str, ...], dest: str, *,
                 handler: Handler | None = None, when: str | None = None,
                 unless: str | None = None, roles: tuple[str, ...] = (),
                 automatic: bool = False) -> None:
        object.__setattr__(self, "trigger", trigger)
        object.__setattr__(self, "source", (source,) if isinstance(source, str) else tuple(source))
        object.__setattr__(self, "dest", dest)
        object.__setattr__(self, "handler", handler)
        object.__setattr__(self, "when", when)
        object.__setattr__(self, "unless", unless)
        object.__setattr__(self, "roles", tuple(roles))
        object.__setattr__(self, "automatic", automatic)


@dataclass(frozen=True, slots=True)
class ProcessDefinition:
    """A use case: steps, transitions, who may start it and the options it reads."""

    name: str
    title: str
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...]
    start_roles: tuple[str, ...] = ()
    option_script: str | None = None
    options: tuple[OptionSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    tasks: tuple[TaskSpec, ...] = ()
    #: the default option script this process ships, installed by `idmflow init`
    default_script: Path | None = None
    initial: str | None = None
    #: recorded on each instance; the engine fires only instances of this version, or of
    #: one listed in `compatible_versions` (older versions this one still runs unchanged)
    version: str = "1"
    compatible_versions: tuple[str, ...] = ()
    #: where the step views live (a folder of Jinja2 templates)
    templates: Path | None = None
    #: where `mail/NAME.txt` and `mail/NAME.html` live (default: `templates`)
    mail_templates: Path | None = None
    #: where people start it, e.g. "Batch orders"
    category: str = ""
    description: str = ""
    #: the entity lifecycles it creates or moves: `idmflow init` holds their invariants
    lifecycles: tuple["Lifecycle", ...] = ()
    #: kinds of background job it enqueues (engine.jobs runs them)
    jobs: tuple["JobKind", ...] = ()
    #: periodic jobs it declares (a sweep); an option of its script may override the cron
    schedules: tuple["Schedule", ...] = ()
    #: how long its ended instances and their audit events are kept (None: the engine's)
    retention: "Retention | None" = None

    @property
    def initial_step(self) -> str:
        """The step a new instance starts in: `initial`, else the first step."""
        return self.initial or self.steps[0].name

    def option(self, name: str) -> OptionSpec:
        """The declared option called `name` (KeyError when undeclared)."""
        for spec in self.options:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def task(self, kind: str) -> TaskSpec:
        """The declared task called `kind` (KeyError when undeclared)."""
        for spec in self.tasks:
            if spec.kind == kind:
                return spec
        raise KeyError(kind)

    def rule(self, name: str) -> RuleSpec:
        """The declared rule called `name` (KeyError when undeclared)."""
        for spec in self.rules:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        """Every declared option at its default."""
        return {spec.name: copy.deepcopy(spec.default) for spec in self.options}


#: the entity columns an invariant may be unique over
INVARIANT_COLUMNS = ("subject", "type")


@dataclass(frozen=True, slots=True)
class Invariant:
    """A rule across entities that the database holds: at most one entity in `states` for
    each value of the `unique` columns (e.g. one open card per holder and card type).

    `idmflow init` turns it into a partial unique index, so two transactions racing can
    never both break it; a write that would is refused with `InvariantViolation`.
    """

    name: str
    unique: tuple[str, ...]
    states: tuple[str, ...]
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The states of an entity (a card), the triggers between them and its invariants.

    Lifecycles move many entities at once (`engine.bulk`), so they have no handlers: the
    compiled transition table only decides which moves are allowed.
    """

    name: str
    states: tuple[str, ...]
    initial: str
    final: tuple[str, ...]
    transitions: tuple[Transition, ...]
    version: str = "1"
    titles: Mapping[str, str] = field(default_factory=dict)
    invariants: tuple[Invariant, ...] = ()
