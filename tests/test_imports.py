"""Every module imports on its own, whichever is imported first (no import cycles)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import idmflow.console
import idmflow.engine
import idmflow.option_scripts
import idmflow.processes
import idmflow.storage

PACKAGES = (idmflow.engine, idmflow.storage, idmflow.option_scripts, idmflow.processes,
            idmflow.console)


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations." not in info.name + "." and not info.name.endswith(".testing"):
                names.append(info.name)
    return names


def test_each_module_imports_first() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {_modules()!r}:\n"
        "    for loaded in [m for m in sys.modules if m.startswith('idmflow')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_layers_import_downwards_only() -> None:
    """storage/ and option_scripts/ know no process, no console; engine/ names no process."""
    import pathlib

    root = pathlib.Path(idmflow.engine.__file__).parent.parent
    offenders = []
    rules = {"engine": ("idmflow.processes", "idmflow.console"),
             "storage": ("idmflow.processes", "idmflow.console", "idmflow.option_scripts"),
             "option_scripts": ("idmflow.processes", "idmflow.console", "idmflow.engine",
                                "idmflow.storage")}
    for layer, banned in rules.items():
        for path in (root / layer).rglob("*.py"):
            text = path.read_text()
            offenders += [f"{path.relative_to(root)} imports {b}" for b in banned
                          if f"import {b}" in text or f"from {b}" in text]
    storage_engine = [p for p in (root / "storage").rglob("*.py")
                      if "from idmflow.engine" in p.read_text()
                      and "from idmflow.engine.ports import" not in p.read_text()]
    assert offenders == [] and storage_engine == []
    engine_text = " ".join(p.read_text() for p in (root / "engine").rglob("*.py"))
    assert "Cards" not in engine_text  # no process or option name of ours
