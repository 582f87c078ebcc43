"""Administrators do not hurt each other: a pool of workers, a wait deadline, one hash seed,
and no refused compile kept to crowd out another script."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from idmflow.option_scripts import Limits, Problem, Sandbox

SLOW = "x = 0\nwhile True:\n    x += 1"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(Limits(cpu_seconds=1.5, wall_seconds=4.0), workers=2, wait_seconds=0.5) as box:
        yield box


def _in_background(sandbox: Sandbox, source: str) -> threading.Thread:
    thread = threading.Thread(target=sandbox.evaluate, args=(source,))
    thread.start()
    return thread


def _busy_workers(sandbox: Sandbox) -> int:
    return sum(slot.busy for slot in sandbox._pool.slots)


def _wait_for(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.01)


def test_a_quick_script_runs_beside_a_slow_one(sandbox: Sandbox) -> None:
    slow = _in_background(sandbox, SLOW)
    _wait_for(lambda: _busy_workers(sandbox) == 1)
    assert sandbox.evaluate("quick = 1").values == {"quick": 1}
    slow.join()


def test_when_every_worker_is_busy_a_call_is_told_so_and_loses_nothing(sandbox: Sandbox
                                                                       ) -> None:
    slow = [_in_background(sandbox, SLOW) for _ in range(2)]
    _wait_for(lambda: _busy_workers(sandbox) == 2)
    assert sandbox.evaluate("x = 1").problems == (Problem(
        None, "the sandbox is busy; try again in a moment (every worker is running another "
              "script, for more than 0.5 s)"),)
    for thread in slow:
        thread.join()
    assert sandbox.evaluate("x = 1").values == {"x": 1}


def test_every_worker_hashes_alike(sandbox: Sandbox) -> None:
    """A rule over a set must decide the same in each worker (and in each new one)."""
    source = ("def First(names):\n    return list(set(names))[0]\n")
    names = [f"user{i}" for i in range(50)]
    seen = set()
    for _ in range(3):
        barrier = threading.Barrier(2)
        found: list[object] = []

        def call() -> None:
            barrier.wait()
            found.append(sandbox.call_rule(source, "First", [[names]]).results[0])
        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seen.update(found)
        sandbox.evaluate("x = [0] * 10**10")  # a limit retires a worker: a new one starts
    assert len(seen) == 1


def test_the_compile_cache_keeps_only_what_compiled() -> None:
    """White box, in this process: refused compiles are never kept for the next caller."""
    from idmflow.option_scripts import execution
    execution._COMPILED.clear()
    assert not execution.evaluate("import os", "<t>", {"cpu_seconds": 1, "memory_bytes": 1})[
        "values"]
    assert execution._COMPILED == {}
    execution.evaluate("x = 1", "<t>", {"cpu_seconds": 1, "memory_bytes": 1})
    assert list(execution._COMPILED) == [("x = 1", "<t>")]
