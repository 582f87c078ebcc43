"""Definition + option values -> a compiled graph; the only importer of `transitions`.

Steps switched off by options are simply absent from the compiled graph, and so are the
transitions that touch them. One `transitions.Machine` is built per (definition version,
options snapshot) and cached: it fires on any object with a `state` attribute, so no machine
is ever built per instance or per card, and stored rows are never added to it as models.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from transitions import Machine

if TYPE_CHECKING:
    from transitions.extensions import GraphMachine

from .definitions import Lifecycle, ProcessDefinition, Step, Transition
from .errors import NotAllowed
from .variants import present


class _Token:
    """The stand-in model a trigger fires on: just a `state`."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


@dataclass(frozen=True, slots=True)
class _Graph:
    name: str
    states: tuple[str, ...]
    initial: str
    final: frozenset[str]
    transitions: tuple[Transition, ...]


class _Compiled:
    """A graph with its machine: which triggers leave a state and where they go."""

    def __init__(self, graph: _Graph) -> None:
        self.graph = graph
        self._machine = Machine(model=None, **self._config())
        self._diagram_machine: GraphMachine | None = None
        self._table: dict[tuple[str, str], list[Transition]] = {}
        for t in graph.transitions:
            for source in t.source:
                self._table.setdefault((source, t.trigger), []).append(t)

    def _config(self) -> dict[str, Any]:
        graph = self.graph
        return {"states": list(graph.states), "initial": graph.initial,
                "transitions": [{"trigger": t.trigger, "source": list(t.source), "dest": t.dest}
                                for t in graph.transitions],
                "auto_transitions": False, "ignore_invalid_triggers": False,
                "send_event": True}

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def states(self) -> tuple[str, ...]:
        return self.graph.states

    @property
    def initial(self) -> str:
        return self.graph.initial

    def is_final(self, state: str) -> bool:
        return state in self.graph.final

    def triggers(self, state: str) -> list[str]:
        """The triggers that may fire in `state`, in definition order."""
        return list(dict.fromkeys(t.trigger for t in self.graph.transitions if state in t.source))

    def transition(self, state: str, trigger: str) -> Transition:
        """The transition `trigger` takes from `state`, or `NotAllowed` saying what is."""
        options = self._table.get((state, trigger))
        if not options:
            if trigger not in {t.trigger for t in self.graph.transitions}:
                known = ", ".join(sorted({t.trigger for t in self.graph.transitions}))
                raise NotAllowed(f"{self.name!r} has no trigger {trigger!r}; known triggers: {known}")
            allowed = ", ".join(self.triggers(state)) or "none, it is final"
            raise NotAllowed(f"trigger {trigger!r} is not allowed in state {state!r} of "
                             f"{self.name!r}; allowed there: {allowed}")
        return options[0]

    def fire(self, state: str, trigger: str) -> str:
        """The state `trigger` leads to from `state`, as the machine computes it."""
        self.transition(state, trigger)
        token = _Token(state)
        self._machine.events[trigger].trigger(token)
        return token.state

    def sources(self, trigger: str, dest: str) -> tuple[str, ...]:
        """Every state from which `trigger` may lead to `dest` (for set-based moves)."""
        return tuple(dict.fromkeys(
            s for t in self.graph.transitions if t.trigger == trigger and t.dest == dest
            for s in t.source))

    def diagram(self, title: str | None = None) -> str:
        """The graph as a mermaid state diagram, written by `transitions`."""
        # Diagrams are drawn by people's commands only: their machinery loads when asked for.
        from transitions.extensions import GraphMachine
        from transitions.extensions.diagrams_mermaid import Graph

        if self._diagram_machine is None:
            self._diagram_machine = GraphMachine(
                model=None, graph_engine="mermaid", show_conditions=False, **self._config())
        graph = Graph(self._diagram_machine)  # type: ignore[arg-type]  # stub wants the class
        return str(graph.get_graph(title=title or self.name).draw(None))


class CompiledProcess(_Compiled):
    """A `ProcessDefinition` under one snapshot of option values."""

    def __init__(self, definition: ProcessDefinition, options: Mapping[str, Any]) -> None:
        self.definition = definition
        self.options = dict(options)
        variant = present(definition, self.options)
        self.steps: dict[str, Step] = {s.name: s for s in variant.steps}
        super().__init__(_Graph(definition.name, tuple(self.steps), definition.initial_step,
                                frozenset(s.name for s in variant.steps if s.final),
                                variant.transitions))


class CompiledLifecycle(_Compiled):
    """A `Lifecycle`'s transition table, which bulk moves are validated against."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        super().__init__(_Graph(lifecycle.name, lifecycle.states, lifecycle.initial,
                                frozenset(lifecycle.final), lifecycle.transitions))


# Keyed by the definition object itself (the compiled entry holds it, so its id stays
# unique) and the canonical JSON of the options snapshot.
_cache: dict[tuple[int, str], CompiledProcess] = {}
_lifecycles: dict[int, CompiledLifecycle] = {}
_lock = threading.Lock()


def options_key(options: Mapping[str, Any]) -> str:
    """A stable key for an options snapshot (its canonical JSON)."""
    return json.dumps(options, sort_keys=True, default=repr)


def compile_process(definition: ProcessDefinition, options: Mapping[str, Any]) -> CompiledProcess:
    """The cached compiled graph of `definition` under `options`."""
    key = (id(definition), options_key(options))
    compiled = _cache.get(key)
    if compiled is None:
        with _lock:
            compiled = _cache.get(key)
            if compiled is None:
                compiled = _cache[key] = CompiledProcess(definition, options)
    return compiled


def compile_lifecycle(lifecycle: Lifecycle) -> CompiledLifecycle:
    """The cached transition table of `lifecycle`."""
    key = id(lifecycle)
    compiled = _lifecycles.get(key)
    if compiled is None:
        with _lock:
            compiled = _lifecycles.setdefault(key, CompiledLifecycle(lifecycle))
    return compiled
