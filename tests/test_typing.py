"""The engine's public API type-checks under `mypy --strict` (it ships `py.typed`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import idmflow.engine


def test_engine_passes_mypy_strict(tmp_path: Path) -> None:
    # The installed package is a namespace (`idmflow` has no __init__): point mypy at a tree
    # of links to the installed subpackages so it sees the names users import.
    root = tmp_path / "idmflow"
    root.mkdir()
    installed = Path(idmflow.engine.__file__).parent.parent
    for package in ("engine", "storage", "option_scripts"):
        (root / package).symlink_to(installed / package)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--explicit-package-bases",
         "--no-incremental", "-p", "idmflow.engine"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    checked = int(result.stdout.rsplit("no issues found in ", 1)[1].split()[0])
    assert checked >= 15  # every module of the engine, not an empty run
