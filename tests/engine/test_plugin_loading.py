"""Conflicts between plugins are settled symmetrically: whatever order entry points load in,
the conflicting processes are refused, each named with its package, and the rest load."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from idmflow.engine import (DefinitionError, OptionSpec, ProcessDefinition, Registry, Step,
                            Transition)
from idmflow.engine import plugins


@dataclass
class _Dist:
    name: str
    version: str


@dataclass
class _EntryPoint:
    """Stands in for importlib.metadata.EntryPoint: a name, a target and its package."""

    name: str
    target: Any
    dist: _Dist

    @property
    def value(self) -> str:
        return f"{self.dist.name.replace('-', '_')}:{self.name}"

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def _process(name: str, *options: OptionSpec, script: str | None = "Shared",
             ships: bool = False) -> ProcessDefinition:
    return ProcessDefinition(
        name=name, title=name, option_script=script, options=options,
        default_script=Path("/nowhere/Shared.py") if ships else None,
        steps=(Step("a", view="a.html"), Step("b", final=True)),
        transitions=(Transition("go", "a", "b"),))


def _ep(package: str, definition: Any, name: str | None = None) -> _EntryPoint:
    return _EntryPoint(name or getattr(definition, "name", "Broken"), definition,
                       _Dist(package, "1.0" if package == "pkg-a" else "2.0"))


def _both_orders(*eps: _EntryPoint) -> plugins.Loaded:
    forward = plugins.load(list(eps))  # type: ignore[arg-type]
    backward = plugins.load(list(reversed(eps)))  # type: ignore[arg-type]
    assert forward == backward
    return forward


def test_one_name_in_two_packages_refuses_both_and_names_each() -> None:
    loaded = _both_orders(_ep("pkg-a", _process("Same")), _ep("pkg-b", _process("Same")),
                          _ep("pkg-b", _process("Other")))
    assert [c.definition.name for c in loaded.accepted] == ["Other"]
    assert loaded.refused == {"Same": (
        "2 entry points register the process name 'Same': pkg-a 1.0 (entry point Same = "
        "pkg_a:Same) and pkg-b 2.0 (entry point Same = pkg_b:Same); all of them are refused, "
        "since a symbolic name must name one process. Uninstall one of the packages or rename "
        "its process")}


FLAG = OptionSpec("Flag", bool, default=False, doc="")


@pytest.mark.parametrize("intruder_flag, said", [
    (OptionSpec("Flag", str, default="no", doc=""), "as a str with default 'no'"),
    (OptionSpec("Flag", bool, default=True, doc=""), "as a bool with default True"),
])
def test_an_option_declared_otherwise_refuses_that_process_not_the_shipping_one(
        intruder_flag: OptionSpec, said: str) -> None:
    owner = _process("Owner", FLAG, ships=True)
    sibling = _process("Sibling", FLAG)
    intruder = _process("Intruder", intruder_flag, OptionSpec("Own", int, default=1, doc=""))
    elsewhere = _process("Elsewhere", replace(intruder_flag, name="Flag"), script="Other")
    loaded = _both_orders(_ep("pkg-a", owner), _ep("pkg-a", sibling), _ep("pkg-b", intruder),
                          _ep("pkg-b", elsewhere))
    assert [c.definition.name for c in loaded.accepted] == ["Elsewhere", "Owner", "Sibling"]
    assert loaded.refused == {"Intruder": (
        f"process 'Intruder' (pkg-b 2.0) declares option 'Flag' of script 'Shared' {said}, but "
        "Owner (pkg-a 1.0), Sibling (pkg-a 1.0) declare it as a bool with default False, and "
        "they ship the script's default; declare it the same way, or read a script of its own")}


def test_with_nobody_shipping_the_script_every_process_declaring_it_is_refused() -> None:
    one = _process("One", FLAG)
    two = _process("Two", OptionSpec("Flag", int, default=0, doc=""))
    fine = _process("Fine", OptionSpec("Unshared", int, default=0, doc=""))
    loaded = _both_orders(_ep("pkg-a", one), _ep("pkg-b", two), _ep("pkg-b", fine))
    assert [c.definition.name for c in loaded.accepted] == ["Fine"]
    assert sorted(loaded.refused) == ["One", "Two"]
    assert loaded.refused["Two"] == (
        "process 'Two' (pkg-b 2.0) declares option 'Flag' of script 'Shared' as an int with "
        "default 0, but One (pkg-a 1.0) declares it as a bool with default False, and no "
        "process shipping the script's default settles which is meant, so every process "
        "declaring it is refused; declare it one way in all of them")


def test_broken_entry_points_are_named_and_do_not_count_in_conflicts() -> None:
    # invalid, and declaring Flag otherwise: refused for being invalid, Valid keeps loading
    invalid = ProcessDefinition(name="Invalid", title="x", option_script="Shared",
                                options=(OptionSpec("Flag", str, default="x", doc=""),),
                                steps=(Step("a", view="a.html"),),
                                transitions=(Transition("go", "a", "nowhere"),))
    loaded = _both_orders(_ep("pkg-a", ImportError("no module named x"), name="Gone"),
                          _ep("pkg-a", 42, name="Answer"),
                          _ep("pkg-b", _process("Valid", FLAG)), _ep("pkg-b", invalid))
    assert [c.definition.name for c in loaded.accepted] == ["Valid"]
    assert loaded.refused["Gone"] == ("cannot import pkg_a:Gone (pkg-a 1.0): ImportError: no "
                                      "module named x")
    assert loaded.refused["Answer"] == "pkg_a:Answer (pkg-a 1.0) is an int, not a ProcessDefinition"
    assert loaded.refused["Invalid"].startswith("process 'Invalid' is invalid (pkg-b 2.0):\n  - ")
    assert "unknown step 'nowhere'" in loaded.refused["Invalid"]


def test_a_local_add_that_clashes_is_refused() -> None:
    registry = Registry()
    registry.add(_process("Owner", FLAG, ships=True))
    with pytest.raises(DefinitionError, match="declares option 'Flag' of script 'Shared' as a "
                                              "str with default 'no', but Owner"):
        registry.add(_process("Intruder", OptionSpec("Flag", str, default="no", doc="")))
    assert [d.name for d in registry.all()] == ["Owner"]
