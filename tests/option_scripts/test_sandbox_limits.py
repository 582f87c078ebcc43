"""CPU, memory, wall-clock and size limits end a script with a clear problem; the host lives.

The limits here are smaller than the defaults so the module stays fast; the behaviour is
the same. No timing assertions: how fast each limit triggers is measured, not tested.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from idmflow.option_scripts import Evaluation, Limits, Problem, Sandbox

SMALL = Limits(cpu_seconds=0.5, memory_bytes=128 * 1024 * 1024, wall_seconds=3.0,
               output_bytes=1024 * 1024)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(SMALL) as box:
        yield box


def _pid(sandbox: Sandbox) -> int:
    """White box: the worker's process id, to see it replaced or to kill it."""
    worker = sandbox._slot.worker
    assert worker is not None
    return worker.process.pid


def _wait_until_busy(pid: int) -> None:
    """Wait until the worker has spent CPU time on the script (Linux /proc)."""
    if not os.path.exists(f"/proc/{pid}/stat"):
        time.sleep(0.5)
        return

    def ticks() -> int:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[11])
    start = ticks()
    deadline = time.monotonic() + 10
    while ticks() < start + 10 and time.monotonic() < deadline:
        time.sleep(0.02)


CPU = "line {line}: the script ran longer than the 0.5 s CPU limit; look for an endless loop " \
      "or a very large computation"
MEMORY = "line {line}: the script needs more than 128 MB of memory"
RECURSION = "line {line}: functions call each other too deeply (RecursionError); look for a " \
            "function that calls itself without end"

#: (source, the lines it may be stopped on, message): a signal lands on any line of a loop
RUNAWAYS = [
    ("x = 1\nwhile True:\n    x = x + 1", (2, 3), CPU),
    ("while True:\n    pass", (1, 2), CPU),
    ("while True:\n    try:\n        while True:\n            pass\n    except Exception:\n"
     "        pass", (3, 4), CPU),
    ("x = 0\nwhile True:\n    try:\n        x += 1\n    finally:\n        x = 0",
     (2, 3, 4, 5, 6), CPU),
    ("x = sum(i for i in range(10**10))", (1,), CPU),
    ("x = 7 ** 10**7", (1,), CPU),
    ("x = [0] * 10**10", (1,), MEMORY),
    ("x = 'a' * 10**10", (1,), MEMORY),
    ("s = 'ab'\nwhile True:\n    s += s", (3,), MEMORY),
    ("x = f'{1:>{10**9}}'", (1,), MEMORY),
    ("x = 'a'.zfill(10**10)", (1,), MEMORY),
    ("def f(n):\n    return f(n + 1)\nx = f(0)", (2,), RECURSION),
    ("def f(n):\n    return sorted([n], key=f)\nx = f(0)", (2,), RECURSION),
]


@pytest.mark.parametrize("source, lines, message", RUNAWAYS, ids=[s for s, _, _ in RUNAWAYS])
def test_a_runaway_script_ends_in_a_problem(sandbox: Sandbox, source: str,
                                            lines: tuple[int, ...], message: str) -> None:
    (problem,) = sandbox.evaluate(source).problems
    assert problem.line in lines
    assert problem == Problem(problem.line, message.format(line=problem.line))
    assert sandbox.evaluate("after = 1").values == {"after": 1}


def test_a_limit_in_a_rule_names_the_item(sandbox: Sandbox) -> None:
    source = "def Rule(card):\n    while card['loop']:\n        x = 1\n    return 1"
    results = sandbox.call_rule(source, "Rule", [{"loop": False}, {"loop": True}])
    assert results.results == []
    (problem,) = results.problems
    assert problem.line in (2, 3)
    assert problem.message == (f"line {problem.line}: rule 'Rule' failed for item 1: " +
                               CPU.format(line=2)[len("line 2: "):])


def test_a_limit_replaces_the_worker_and_the_next_call_works(sandbox: Sandbox) -> None:
    sandbox.evaluate("x = 1")
    before = _pid(sandbox)
    assert not sandbox.evaluate("x = [0] * 10**10").ok
    assert sandbox.evaluate("x = 2").values == {"x": 2}
    assert _pid(sandbox) != before
    again = _pid(sandbox)
    assert sandbox.evaluate("x = 1 / 0").problems[0].line == 1  # an ordinary error keeps it
    assert _pid(sandbox) == again


def test_the_wall_clock_kills_what_the_cpu_limit_does_not() -> None:
    with Sandbox(Limits(cpu_seconds=60, wall_seconds=0.5)) as box:
        evaluation = box.evaluate("while True:\n    pass")
        assert evaluation.problems == (Problem(None, "the script ran longer than the 0.5 s time "
                                                     "limit and was stopped; look for an "
                                                     "endless loop or a very large "
                                                     "computation"),)
        assert box.evaluate("x = 1").values == {"x": 1}


def test_a_crashed_worker_is_a_problem_not_a_host_crash() -> None:
    """A C-stack overflow is a SIGSEGV in the worker; sent by hand here to be certain."""
    with Sandbox(Limits(cpu_seconds=60, wall_seconds=60)) as box:
        box.evaluate("x = 1")
        pid = _pid(box)
        found: list[Evaluation] = []
        thread = threading.Thread(target=lambda: found.append(box.evaluate("while True:\n"
                                                                           "    pass")))
        thread.start()
        _wait_until_busy(pid)
        os.kill(pid, signal.SIGSEGV)
        thread.join(10)
        (evaluation,) = found
        assert evaluation.problems == (Problem(None, "the script crashed the sandbox's worker "
                                                     "process (SIGSEGV), e.g. by nesting too "
                                                     "deeply or by running out of memory; the "
                                                     "host is unaffected"),)
        assert box.evaluate("x = 1").values == {"x": 1}


def test_a_worker_killed_while_idle_is_replaced(sandbox: Sandbox) -> None:
    sandbox.evaluate("x = 1")
    worker = sandbox._slot.worker
    assert worker is not None
    worker.process.kill()
    worker.process.wait()
    assert sandbox.evaluate("x = 3").values == {"x": 3}
    assert _pid(sandbox) != worker.process.pid


@pytest.mark.parametrize("source, line, name", [
    ("a = 1\nbig = 'é' * 600_000", 2, "big"),  # 1.2 MB, under the str limit
    ("small = 1\nbig = ['x' * 1000] * 2000", 2, "big"),
])
def test_an_answer_too_large_names_the_value(sandbox: Sandbox, source: str, line: int,
                                             name: str) -> None:
    (problem,) = sandbox.evaluate(source).problems
    assert problem == Problem(line, f"line {line}: the value of '{name}' is too large to hand "
                                    "back (the limit is 1 MB)")


def test_rule_results_too_large(sandbox: Sandbox) -> None:
    results = sandbox.call_rule("def Rule(n):\n    return 'x' * n", "Rule", [600_000, 600_000])
    assert results.problems == (Problem(None, "the rule's results are too large to hand back "
                                              "(the limit is 1 MB)"),)


def test_deep_nesting_in_the_source_is_a_problem(sandbox: Sandbox) -> None:
    for source in ("x = " + "-" * 5000 + "1", "x = " + "-" * 400 + "1",
                   "x = " + "(" * 300 + ")" * 300):
        evaluation = sandbox.evaluate(source)
        assert len(evaluation.problems) == 1
    assert sandbox.evaluate("x = " + "[" * 90 + "]" * 90).ok


def test_threads_share_one_sandbox(sandbox: Sandbox) -> None:
    found: dict[int, list[object]] = {}

    def work(n: int) -> None:
        found[n] = [sandbox.evaluate(f"x = {n} * {i}").values["x"] for i in range(5)]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == {n: [n * i for i in range(5)] for n in range(8)}


def test_a_closed_sandbox_stops_its_worker() -> None:
    box = Sandbox()
    box.evaluate("x = 1")
    worker = box._slot.worker
    assert worker is not None
    box.close()
    assert worker.process.poll() is not None
    with pytest.raises(RuntimeError, match="closed"):
        box.evaluate("x = 1")
