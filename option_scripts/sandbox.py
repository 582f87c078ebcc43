"""The host's side of the sandbox: one reusable worker process per `Sandbox`, and its API.

A `Sandbox` starts its worker on first use, sends it one request at a time (a lock makes it
safe to share between threads), and enforces the wall-clock limit itself: an answer that
is late gets the worker killed, and the next call starts a new one. Everything the worker
sends is checked before it becomes an `Evaluation` or `RuleResults`; a worker that dies,
hangs, or answers nonsense while it works on a script ends in a `Problem`, never in an
exception in the host. Only a worker that cannot start at all (a broken installation)
raises, as RuntimeError.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from . import wire
from .answers import evaluation_from, rule_results_from
from .plain import describe
from .results import Evaluation, Problem, RuleResults
from .sizes import Sizes

_T = TypeVar("_T")

#: started as `python -I -c BOOT PATHS MEMORY`: the host's import path is appended (so a
#: host that found idmflow on PYTHONPATH finds it in the worker too), nothing else is passed
_BOOT = ("import sys, json; sys.path += [p for p in json.loads(sys.argv[1]) "
         "if p not in sys.path]; from idmflow.option_scripts.worker import main; "
         "main(int(sys.argv[2]))")
#: how long a fresh worker may take to start, whatever the limits of a call
_STARTUP_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call (an evaluation, or a rule over all its items) may use."""

    cpu_seconds: float = 2.0
    #: the worker's address-space limit
    memory_bytes: int = 256 * 1024 * 1024
    wall_seconds: float = 5.0
    #: the largest answer (values or results, as JSON) the host accepts
    output_bytes: int = 32 * 1024 * 1024
    #: what a reply may hold (source, values, names, problems); never below their floors
    sizes: Sizes = Sizes()

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_bytes", "wall_seconds", "output_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, not {getattr(self, name)!r}")
        if not isinstance(self.sizes, Sizes):
            raise ValueError(f"Limits.sizes must be a Sizes, not {self.sizes!r}")


class _Worker:
    """One running worker process and the host's ends of its two pipes."""

    def __init__(self, limits: Limits) -> None:
        #: a host that forks after starting a worker must not share it with its child
        self.owner = os.getpid()
        paths = [p for p in sys.path if p and os.path.isabs(p)]
        env = {k: os.environ[k] for k in ("LD_LIBRARY_PATH", "SYSTEMROOT") if k in os.environ}
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-X", "utf8", "-c", _BOOT, json.dumps(paths),
             str(limits.memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd="/", env=env, close_fds=True, start_new_session=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests = self.process.stdin.fileno()
        self.answers = self.process.stdout.fileno()
        os.set_blocking(self.requests, False)
        os.set_blocking(self.answers, False)
        try:
            ready = wire.decode(wire.receive(self.answers, time.monotonic() + _STARTUP_SECONDS,
                                             1024))
        except (TimeoutError, EOFError, wire.ProtocolError) as exc:
            self.stop()
            raise RuntimeError(f"the option-script worker did not start (exit status "
                               f"{self.process.returncode}); check that `{sys.executable} -I "
                               "-c 'import idmflow.option_scripts.worker'` works") from exc
        if ready != {"ready": True}:
            self.stop()
            raise RuntimeError("the option-script worker did not start: it sent no greeting")

    @property
    def usable(self) -> bool:
        """Whether this process's worker is still running (a forked child starts its own)."""
        return self.owner == os.getpid() and self.process.poll() is None

    def stop(self) -> None:
        """Kill the process (if it still runs) and release its pipes."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


class _Slot:
    """Holds the current worker, so a finalizer can stop it without holding the Sandbox."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


class Sandbox:
    """A reusable worker process (started lazily on first use, restarted after it is killed).

    Thread-safe: one call at a time, via a lock. Use it as a context manager, or `close()` it.
    """

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._slot = _Slot()
        self._closed = False
        self._finalizer = weakref.finalize(self, self._slot.stop)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker; the sandbox cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._slot.stop()

    def evaluate(self, source: str, *, name: str = "<script>") -> Evaluation:
        """Run `source` once: its plain values and its rules, or what is wrong with it."""
        if (bad := _not_text(source) or _too_long(source, self.limits.sizes)) is not None:
            return Evaluation({}, {}, {}, (bad,))
        sizes = self.limits.sizes
        answer = self._ask({"op": "evaluate", "source": source, "name": name},
                           lambda a: evaluation_from(a, sizes))
        if isinstance(answer, Problem):
            return Evaluation({}, {}, {}, (answer,))
        return answer

    def call_rule(self, source: str, rule: str, items: Sequence[Mapping[str, Any] | Any], *,
                  name: str = "<script>") -> RuleResults:
        """Call the script's function `rule` once per item, in one round trip.

        An item that is a list or tuple is spread as the arguments; any other item is the
        single argument. The rule receives read-only copies (travelled as JSON: a tuple
        arrives as a list, a dict key as a string). The limits hold for the whole call,
        all items together; the first item that fails ends it, named in the problem.

        Raises:
            TypeError: an item is not plain data (a bug of the caller, not of the script).
        """
        items = list(items)
        answer = self._ask({"op": "call_rule", "source": source, "name": name, "rule": rule,
                            "items": items},
                           lambda a: rule_results_from(a, len(items), self.limits.sizes))
        if isinstance(answer, Problem):
            return RuleResults([], (answer,))
        return answer

    def _ask(self, request: dict[str, Any], read: Callable[[dict[str, Any]], _T]
             ) -> _T | Problem:
        """One round trip: the worker's answer read by `read`, or the problem that kept it
        from answering."""
        limits = self.limits
        request.update(cpu_seconds=limits.cpu_seconds, output_bytes=limits.output_bytes,
                       sizes=limits.sizes.to_wire())
        # JSON carries no object: a host object among the items is refused here, in the host
        try:
            frame = wire.encode(request, refuse=_refuse_host_object)
        except ValueError as exc:  # NaN, Infinity, a lone surrogate: not strict plain data
            raise TypeError(f"call_rule items must be plain data; one is not ({exc})") from None
        with self._lock:
            if self._closed:
                raise RuntimeError("this Sandbox is closed")
            worker = self._slot.worker
            if worker is None or not worker.usable:
                self._slot.stop()
                worker = self._slot.worker = _Worker(limits)
            deadline = time.monotonic() + limits.wall_seconds
            try:
                wire.send(worker.requests, frame, deadline)
                body = wire.receive(worker.answers, deadline, limits.output_bytes + 65536)
                answer = wire.decode(body)
                if not isinstance(answer, dict):
                    raise wire.ProtocolError("not an object")
                if answer.get("retiring"):  # it hit a limit and exits: the next call starts anew
                    self._slot.stop()
                return read(answer)
            except TimeoutError:
                self._slot.stop()
                return Problem(None, f"the script ran longer than the {limits.wall_seconds:g} s "
                                     "time limit and was stopped; look for an endless loop or "
                                     "a very large computation")
            except (EOFError, BrokenPipeError):
                return self._died(worker)
            except wire.ProtocolError as exc:
                self._slot.stop()
                return Problem(None, f"the sandbox's worker gave an answer the host refuses "
                                     f"({exc}) and was stopped")

    def _died(self, worker: _Worker) -> Problem:
        """The worker ended while working on the request: say why, from how it ended."""
        try:
            worker.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:  # it closed its output but lingers: kill it
            pass
        self._slot.stop()
        code = worker.process.returncode
        if code == -signal.SIGXCPU:
            return Problem(None, f"the script ran longer than the {self.limits.cpu_seconds:g} "
                                 "s CPU limit and was stopped")
        if code < 0:
            return Problem(None, f"the script crashed the sandbox's worker process "
                                 f"({signal.Signals(-code).name}), e.g. by nesting too deeply "
                                 "or by running out of memory; the host is unaffected")
        return Problem(None, f"the sandbox's worker process stopped unexpectedly "
                             f"(exit status {code})")


def _not_text(source: str) -> Problem | None:
    """A problem when `source` holds a lone surrogate, which no file and no pipe can carry."""
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as exc:
        line = source.count("\n", 0, exc.start) + 1
        return Problem(line, f"line {line}: the script holds a lone surrogate "
                             f"(U+{ord(source[exc.start]):04X}), which is not text; remove it")
    return None


def _too_long(source: str, sizes: Sizes) -> Problem | None:
    """A problem when `source` is longer than the limit (checked before it is sent)."""
    size = len(source) if source.isascii() else len(source.encode("utf-8"))
    if size <= sizes.source_bytes:
        return None
    return Problem(None, f"the script is {size / 1024:,.0f} KB; the limit is "
                         f"{sizes.source_bytes / 1024:,.0f} KB of source; keep large data "
                         "out of option scripts")


def _refuse_host_object(value: Any) -> Any:
    raise TypeError(f"call_rule items must be plain data; one is {describe(value)}")


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide sandbox with default limits, created on first use.

    It is closed when the interpreter exits.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = Sandbox()
            atexit.register(_default.close)
        return _default

