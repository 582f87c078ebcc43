"""No import circles anywhere in idmflow, `TYPE_CHECKING` imports counted.

The source files are read with `ast`, not imported: every `import` and `from ... import`
statement counts, at the top of a module, inside a function or under `if TYPE_CHECKING:`.
A circle closed only for the type checker is still two modules that need each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: folder -> the package it installs as (pyproject.toml's package-dir)
PACKAGES = {"engine": "idmflow.engine", "storage": "idmflow.storage",
            "processes": "idmflow.processes", "option_scripts": "idmflow.option_scripts",
            "console": "idmflow.console"}


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports. `from package import module` is an edge
    to the module; `from package import name` to the package (its `__init__`)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                found.add(sub if sub in known else source)
    return {m for m in found if m in known and m != name}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph[step]))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_of_idmflow_is_in_an_import_circle() -> None:
    known = modules()
    assert len(known) > 80 and "idmflow.engine.unit" in known  # the whole tree was read
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle_closed_only_for_type_checkers(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from typing import TYPE_CHECKING\n"
                                   "if TYPE_CHECKING:\n    from .b import B\n")
    (tmp_path / "b.py").write_text("from .c import C\n")
    (tmp_path / "c.py").write_text("def f():\n    from .a import A\n")
    known = {f"p.{n}": tmp_path / f"{n}.py" for n in "abc"}
    graph = {name: imports(name, path, known) for name, path in known.items()}
    assert graph == {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}}
    assert circles(graph) == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize("folder", ["engine", "storage"])
def test_no_module_calls_another_modules_private_names(folder: str) -> None:
    """`from .x import _name` or `x._name` on another module: a private name shared is a
    public name in hiding (give it a real name, or move the code)."""
    known = modules()
    names = {name.rsplit(".", 1)[-1] for name in known}
    problems = []
    for name, path in known.items():
        if not name.startswith(PACKAGES[folder]):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                problems += [f"{name}: from {node.module} import {a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                  and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                  and node.value.id not in ("self", "cls")
                  and (node.value.id in names or node.value.id in ("engine", "unit"))):
                problems.append(f"{name}: {node.value.id}.{node.attr} (line {node.lineno})")
    assert problems == []
