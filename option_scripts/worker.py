"""The worker process: runs scripts under resource limits, far from the host's memory.

`spawn` starts it as a fresh interpreter (an environment holding only PYTHONHASHSEED=0,
cwd "/"), so it holds nothing of the host: no database connection, no secret, no open
file. Before it answers its first request (`prepare`) it imports and runs everything once,
then limits itself:

- RLIMIT_AS: address space (`Limits.memory_bytes`); a huge list or string is a MemoryError.
- RLIMIT_CPU and ITIMER_PROF: per request, CPU time (`Limits.cpu_seconds`); the signal
  raises `CpuLimitExceeded` inside the script, so the problem names the line it was on.
  The itimer is exact; the soft rlimit (whole seconds) backs it up; the hard rlimit is the
  worker's whole life's budget, a SIGKILL even a loop inside C cannot ignore, and the
  worker retires before it runs out.
- RLIMIT_NOFILE down to the descriptors it already has, RLIMIT_NPROC 0 and RLIMIT_FSIZE 0:
  nothing to open, spawn or write even for a script that escaped RestrictedPython.
- RLIMIT_CORE 0: a crash leaves no core file.
- then `confinement`: the user drop, PR_SET_PDEATHSIG, no_new_privs, seccomp.

Standard input and output are moved aside at once (to /dev/null), so nothing printed by
accident can corrupt the protocol. After a limit is hit the worker answers, then exits;
the host starts a fresh one on the next call. The wall-clock limit is the host's: it kills
the worker when an answer is late (a long computation inside C never sees a signal).
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import sys
import warnings
from types import FrameType
from typing import Any

from . import confinement, execution, guards, wire


def main(config: dict[str, Any]) -> None:
    """Serve requests on the inherited stdin/stdout until the host closes them."""
    requests, answers = prepare(config)
    memory_bytes = int(config["memory_bytes"])
    while True:
        body = wire.read_blocking(requests)
        if body is None:
            return
        execution.REASONS_TO_RETIRE.clear()
        answer, output_bytes = _answer(body, memory_bytes)
        if _cpu_left() < float(config.get("cpu_seconds", 0)) + 2:
            execution.REASONS_TO_RETIRE.append("lifetime cpu")
        answer["retiring"] = bool(execution.REASONS_TO_RETIRE)
        wire.write_blocking(answers, _encode(answer, output_bytes))
        if execution.REASONS_TO_RETIRE:
            return  # start afresh after a limit: the next call gets a clean process


def prepare(config: dict[str, Any]) -> tuple[int, int]:
    """Everything before the first request, walls included; the (requests, answers) pipes.

    Said "ready" to the host, with the protections that could not be had. Tests start
    their own payloads after this very function, to prove what wall 2 refuses.
    """
    requests, answers = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the host's to handle
    signal.signal(signal.SIGXCPU, _out_of_time)
    signal.signal(signal.SIGPROF, _out_of_time)
    _warm_up()
    seccomp = confinement.load_binding()
    _limit_self(int(config["memory_bytes"]), max(requests, answers),
                int(config.get("cpu_hard", 0)))
    missing = confinement.confine(config, seccomp)
    wire.write_blocking(answers, wire.encode({"ready": True, "missing": missing}))
    return requests, answers


def _cpu_left() -> float:
    """CPU seconds until the hard limit kills this worker (a loop in C ignores the soft)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY:
        return float("inf")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return hard - usage.ru_utime - usage.ru_stime


def _out_of_time(signum: int, frame: FrameType | None) -> None:
    guards.expire()


def _warm_up() -> None:
    """Import and run everything once, so that no request needs a file after the limits.

    The parser imports `unicodedata` lazily (for non-ASCII names and "\\N{...}"); once
    RLIMIT_NOFILE is down, that import would fail, so it happens here. Warnings (e.g. a
    SyntaxWarning while compiling a script) are ignored rather than shown, for the same
    reason and because nobody reads the worker's stderr.
    """
    import unicodedata  # noqa: F401  (see above)

    warnings.simplefilter("ignore")
    limits = {"cpu_seconds": 1.0, "memory_bytes": 1}
    execution.evaluate('größe = f"{1:>3}" + "%s" % 1 + "\\N{BULLET}"\ndef f(a):\n'
                       '    return a["b"]\n', "<warm-up>", limits)
    execution.call_rule("def f(a):\n    return [a]\n", "<warm-up>", "f", [{"b": [1]}], limits)
    wire.decode(wire.encode({"a": [1.5, None]})[8:])


def _limit_self(memory_bytes: int, last_fd: int, cpu_hard: int) -> None:
    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0),
                         (resource.RLIMIT_NPROC, 0), (resource.RLIMIT_NOFILE, last_fd + 1),
                         (resource.RLIMIT_AS, memory_bytes)):
        _, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    if cpu_hard > 0:
        # the worker's whole life: past it the kernel sends SIGKILL, which a loop inside C
        # (that never sees the soft limit's SIGXCPU) cannot ignore; the worker retires first
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        value = cpu_hard if hard == resource.RLIM_INFINITY else min(cpu_hard, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (value, value))


def _answer(body: bytes, memory_bytes: int) -> tuple[dict[str, Any], int]:
    """Run one request: (its answer, the most bytes the answer may take).

    Every failure becomes a problem in the answer; none escapes to end the worker.
    """
    limits: dict[str, Any] = {"cpu_seconds": 0.0, "memory_bytes": memory_bytes,
                              "sizes": dict(execution.DEFAULT_SIZES)}
    output_bytes = 1 << 20
    try:
        request = wire.decode(body)
        limits["cpu_seconds"] = float(request["cpu_seconds"])
        limits["sizes"] = {k: int(v) for k, v in dict(request["sizes"]).items()}
        output_bytes = int(request["output_bytes"])
        if request["op"] == "evaluate":  # the values' own limit, when it is lower
            output_bytes = min(output_bytes, limits["sizes"]["value_bytes"])
        source, name = str(request["source"]), str(request["name"])
        with _CpuBudget(limits["cpu_seconds"]):
            if request["op"] == "evaluate":
                return execution.evaluate(source, name, limits), output_bytes
            return execution.call_rule(source, name, str(request["rule"]), request["items"],
                                       limits), output_bytes
    except guards.CpuLimitExceeded:  # arrived outside the script, e.g. checking values
        execution.REASONS_TO_RETIRE.append("cpu")
        return _failed(f"the script ran longer than the {limits['cpu_seconds']:g} s CPU "
                       "limit"), output_bytes
    except MemoryError:  # e.g. decoding the items
        execution.REASONS_TO_RETIRE.append("memory")
        return _failed(f"the script's data need more than {memory_bytes // 2**20} MB of "
                       "memory"), output_bytes
    except Exception as exc:  # a bug of ours: say so, without paths or reprs
        execution.REASONS_TO_RETIRE.append("error")
        return _failed(f"internal error in the option-script worker "
                       f"({type(exc).__name__})"), output_bytes


def _failed(message: str) -> dict[str, Any]:
    return {"values": {}, "rules": {}, "lines": {}, "results": [],
            "problems": [[None, message]]}


class _CpuBudget:
    """Arm the CPU limits for one request and disarm them after, whatever happens."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __enter__(self) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = math.ceil(usage.ru_utime + usage.ru_stime + self.seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY
                                                 else min(soft, hard), hard))
        guards.CLOCK.expired = False
        guards.CLOCK.running = True
        signal.setitimer(signal.ITIMER_PROF, self.seconds)

    def __exit__(self, *exc_info: object) -> None:
        guards.CLOCK.running = False
        signal.setitimer(signal.ITIMER_PROF, 0)
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _encode(answer: dict[str, Any], limit: int) -> bytes:
    """The answer's frame, or a problem naming what made it larger than `limit` bytes."""
    size = f"the limit is {limit / 2**20:g} MB"
    # the names, lines and problems beside the values may take a little more than `limit`
    allowed = limit + _OVERHEAD
    if _rough_size(answer) <= allowed:  # a lower bound: spares encoding what cannot fit
        try:
            frame = wire.encode(answer)
        except (ValueError, TypeError, RecursionError, MemoryError) as exc:
            size = type(exc).__name__
        else:
            if len(frame) <= allowed:
                return frame
    if answer.get("results"):
        return _replaced(answer, None, f"the rule's results are too large to hand back ({size})")
    values = answer.get("values", {})
    biggest = max(values, key=lambda n: _rough_size(values[n]), default="?")
    line = answer.get("lines", {}).get(biggest)
    return _replaced(answer, line, f"the value of '{biggest}' is too large to hand back ({size})")


#: what an answer may hold beyond its values' limit: names, lines, capped problems
_OVERHEAD = 64 * 1024


def _rough_size(value: Any, depth: int = 0) -> int:
    """At least how many bytes `value` takes as JSON (values are plain, so this ends)."""
    if isinstance(value, str):
        return len(value) + 2
    if depth > 100:
        return 0
    if isinstance(value, dict):
        return sum(len(k) + 4 + _rough_size(v, depth + 1) for k, v in value.items()) + 2
    if isinstance(value, (list, tuple)):
        return sum(_rough_size(v, depth + 1) + 1 for v in value) + 2
    return 1


def _replaced(answer: dict[str, Any], line: int | None, text: str) -> bytes:
    failed = _failed(f"line {line}: {text}" if line is not None else text)
    failed["problems"][0][0] = line
    failed["retiring"] = answer.get("retiring", False)
    return wire.encode(failed)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
