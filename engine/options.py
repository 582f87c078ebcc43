"""Where option values come from: the provider interface and its simplest form.

A process reads its options through an `OptionsProvider`; the snapshot it returns is
recorded on each instance, so a later edit of the option script never changes an instance
that is already running. `DeclaredDefaults` serves every option at its declared default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .definitions import ProcessDefinition


@dataclass(frozen=True, slots=True)
class OptionsSnapshot:
    """The option values a process runs with, and which version they come from."""

    version: str
    values: Mapping[str, Any] = field(default_factory=dict)


class OptionsProvider(Protocol):
    """Gives the current option values of a process."""

    def snapshot(self, definition: ProcessDefinition) -> OptionsSnapshot:
        """The values `definition` runs with now, every declared option present."""
        ...


class DeclaredDefaults:
    """Every option at its declared default (version "defaults")."""

    def snapshot(self, definition: ProcessDefinition) -> OptionsSnapshot:
        return OptionsSnapshot("defaults", definition.defaults())


class FixedOptions:
    """Declared defaults overridden by fixed values: for tests and for previews."""

    def __init__(self, values: Mapping[str, Any], *, version: str = "fixed") -> None:
        self._values = dict(values)
        self._version = version

    def snapshot(self, definition: ProcessDefinition) -> OptionsSnapshot:
        values = definition.defaults()
        values.update({k: v for k, v in self._values.items() if k in values})
        return OptionsSnapshot(self._version, values)
