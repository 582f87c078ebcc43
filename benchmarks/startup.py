"""How fast the CLI starts, beside a bare `python -c "import click, sqlalchemy"`.

It prints the wall time (median and best of the rounds) of

* the floor: `python -c "import click, sqlalchemy"`, the interpreter loading the two
  libraries a command needs;
* `idmflow --help`, which should import neither SQLAlchemy nor the engine (target: ratio 1.0
  or less);
* `idmflow cards list --limit 1 --json` on a SQLite database with a few cards, a whole
  command: open the engine, load the processes, check the schema, query (target: 2.0 or less);

and each one's ratio to the floor. The rounds interleave the three commands so that a busy
machine slows them alike. Set-up (a temporary database with demo users and a batch) is not
timed. The commands run with bytecode caching on, as after `pip install`, which compiles it
(`PYTHONDONTWRITEBYTECODE` would make every run compile idmflow from source in an editable
install, while SQLAlchemy's bytecode is cached).

    python benchmarks/startup.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IDMFLOW = str(Path(sys.executable).parent / "idmflow")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _run(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=ENV)
    return time.perf_counter() - start


def _database(folder: str) -> str:
    url = f"sqlite:///{folder}/startup.db"
    for args in (["init"], ["demo", "--users", "100"],
                 ["cards", "request-batch", "--as", "operator", "--users",
                  "afischer20,ameyer100"]):
        subprocess.run([IDMFLOW, "--database-url", url, *args], check=True,
                       stdout=subprocess.DEVNULL, env=ENV)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = _database(folder)
        commands = {
            'python -c "import click, sqlalchemy"': [sys.executable, "-c",
                                                     "import click, sqlalchemy"],
            "idmflow --help": [IDMFLOW, "--help"],
            "idmflow cards list --limit 1 --json": [IDMFLOW, "--database-url", url, "cards",
                                                    "list", "--limit", "1", "--json"],
        }
        for command in commands.values():  # warm the file cache and the bytecode
            _run(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, command in commands.items():
                times[name].append(_run(command))
    floor = statistics.median(next(iter(times.values())))
    print(f"{'command':40} {'median':>9} {'best':>9} {'ratio':>7}")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"{name:40} {median * 1000:7.0f}ms {min(measured) * 1000:7.0f}ms "
              f"{median / floor:7.2f}")
    print(f"(ratio: median / median of the floor; {args.rounds} rounds)")


if __name__ == "__main__":
    main()
