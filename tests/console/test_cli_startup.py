"""The CLI starts quickly: `--help` and `--version` load neither the engine nor its libraries.

Speed itself is measured by `benchmarks/startup.py`; these tests pin what makes it fast, the
modules that load, so a stray top-level import fails here and not only in a benchmark.
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

import idmflow.engine
from idmflow.console.cli import COMMANDS, main

HEAVY = ("sqlalchemy", "alembic", "flask", "werkzeug", "jinja2", "transitions", "rich",
         "RestrictedPython", "idmflow.storage", "idmflow.processes", "idmflow.option_scripts")


def _loaded_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = (f"import json, sys\ntry:\n    {code}\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    return list(json.loads(result.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_help_and_version_import_no_engine_database_or_web(args: list[str]) -> None:
    loaded = _loaded_after(f"from idmflow.console.cli import main; main({args!r})")
    assert "idmflow.console.cli" in loaded
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY)] == []


def test_importing_the_ports_loads_nothing_else_of_ours() -> None:
    loaded = _loaded_after("import idmflow.engine.ports")
    assert [m for m in loaded if m.startswith("idmflow")] == [
        "idmflow", "idmflow.engine", "idmflow.engine.ports"]
    assert not [m for m in loaded if m.startswith("sqlalchemy")]


def test_each_lazy_command_is_there_with_its_own_help() -> None:
    """The table `--help` lists from says what the commands themselves say."""
    ctx = click.Context(main)
    for name, lazy in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert lazy.help == command.get_short_help_str(limit=1000), name


def test_every_public_engine_name_resolves_lazily() -> None:
    assert sorted(idmflow.engine._HOME) == sorted(idmflow.engine.__all__)
    for name in idmflow.engine.__all__:
        assert getattr(idmflow.engine, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        getattr(idmflow.engine, "Nope")
