"""The host's side of the sandbox: a small pool of reusable worker processes, and its API.

A `Sandbox` starts its workers on first use (`spawn`), hands each call to a free one, and
enforces the wall-clock limit itself: an answer that is late gets the worker killed, and
the next call starts a new one. A call that finds every worker busy waits at most
`wait_seconds`, then is told "the sandbox is busy; try again": one administrator's slow
scripts cannot hold another's Validate for long. Everything a worker sends is checked
before it becomes an `Evaluation` or `RuleResults`; a worker that dies, hangs, or answers
nonsense while it works on a script ends in a `Problem`, never in an exception in the host.
Only a worker that cannot start at all (a broken installation) raises, as RuntimeError.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from . import confinement, spawn, wire
from .answers import evaluation_from, rule_results_from
from .plain import describe
from .results import Evaluation, Problem, RuleResults
from .sizes import Sizes

_T = TypeVar("_T")
_log = logging.getLogger("idmflow.option_scripts")

#: how long a fresh worker may take to start, whatever the limits of a call
_STARTUP_SECONDS = 30.0
#: the protections a worker reported missing, said once per process
_reported: set[str] = set()
_report_lock = threading.Lock()
#: whether PR_SET_DUMPABLE 0 held for this process (None: not tried yet)
_host_undumpable: bool | None = None


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

    def __init__(self, limits: Limits, user: str) -> None:
        #: a host that forks after starting a worker must not share it with its child
        self.owner = os.getpid()
        config = spawn.worker_config(memory_bytes=limits.memory_bytes,
                                     cpu_seconds=limits.cpu_seconds, user=user)
        _undumpable_host()
        self.process = spawn.start(spawn.command(config))
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
                               f"{self.process.returncode}); check that `python -c 'import "
                               "idmflow.option_scripts.worker'` works, and that the worker's "
                               f"user {user!r} exists") from exc
        if not (isinstance(ready, dict) and ready.get("ready") is True
                and isinstance(ready.get("missing"), list)):
            self.stop()
            raise RuntimeError("the option-script worker did not start: it sent no greeting")
        self.missing = tuple(str(m) for m in ready["missing"])
        _report(self.missing)

    @property
    def usable(self) -> bool:
        """Whether this process's worker is still running (a forked child starts its own)."""
        return self.owner == os.getpid() and self.process.poll() is None

    def stop(self) -> None:
        """Kill the worker's whole process group (if it still runs) and release its pipes."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


def _undumpable_host() -> None:
    """Make the host non-dumpable once, before its first worker starts (`confinement`)."""
    global _host_undumpable
    with _report_lock:
        if _host_undumpable is not None:
            return
        _host_undumpable = confinement.make_host_undumpable()
    if not _host_undumpable:
        _report(("a non-dumpable host",))


def _report(missing: Sequence[str]) -> None:
    """Say once per process which of wall 2's protections this platform cannot give."""
    with _report_lock:
        new = [m for m in missing if m not in _reported]
        _reported.update(new)
    if new:
        _log.warning("option-script sandbox: running without %s on this system; wall 1 "
                     "(RestrictedPython) and the resource limits still hold (see "
                     "docs/option-scripts.md)", ", ".join(new))


class _Slot:
    """Holds one worker, so a finalizer can stop it without holding the Sandbox."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None
        self.busy = False

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None


@dataclass
class _Pool:
    """The slots of a sandbox and the condition that hands them out."""

    slots: list[_Slot]
    free: threading.Condition = field(default_factory=threading.Condition)
    closed: bool = False
    #: the slot used last (white-box tests look at its worker)
    last: _Slot | None = None

    def stop(self) -> None:
        for slot in self.slots:
            slot.stop()


class Sandbox:
    """A small pool of reusable worker processes (started lazily, restarted after a kill).

    Thread-safe: up to `workers` calls run at once; more wait up to `wait_seconds` for a
    free worker. Use it as a context manager, or `close()` it.

    Args:
        user: the unprivileged user a worker becomes when the host runs as root.
    """

    def __init__(self, limits: Limits = Limits(), *, workers: int = 2,
                 wait_seconds: float = 10.0, user: str = "nobody") -> None:
        if workers < 1 or not wait_seconds > 0:
            raise ValueError("a Sandbox needs at least one worker and a positive wait")
        self.limits = limits
        self.wait_seconds = wait_seconds
        self.user = user
        self._pool = _Pool([_Slot() for _ in range(workers)])
        self._finalizer = weakref.finalize(self, self._pool.stop)

    @property
    def _slot(self) -> _Slot:
        """The slot of the last call (white box, for tests)."""
        return self._pool.last or self._pool.slots[0]

    @property
    def missing_protections(self) -> tuple[str, ...]:
        """What wall 2 lacks on this platform (empty when every protection holds)."""
        for slot in self._pool.slots:
            if slot.worker is not None:
                return slot.worker.missing
        return ()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers; the sandbox cannot be used afterwards."""
        pool = self._pool
        # a running call ends within its wall-clock limit; past that, stop it anyway (at
        # interpreter exit a daemon thread's call must not hold the exit up)
        deadline = time.monotonic() + self.limits.wall_seconds + 1
        with pool.free:
            pool.closed = True
            while any(slot.busy for slot in pool.slots) and time.monotonic() < deadline:
                pool.free.wait(max(0.0, deadline - time.monotonic()))
            pool.stop()

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
        slot = self._take()
        if slot is None:
            return Problem(None, "the sandbox is busy; try again in a moment (every worker is "
                                 f"running another script, for more than {self.wait_seconds:g} s)")
        try:
            return self._round_trip(slot, frame, read)
        finally:
            self._give_back(slot)

    def _take(self) -> _Slot | None:
        """A free slot, waiting up to `wait_seconds`; None when none came free."""
        pool = self._pool
        deadline = time.monotonic() + self.wait_seconds
        with pool.free:
            while True:
                if pool.closed:
                    raise RuntimeError("this Sandbox is closed")
                slot = next((s for s in pool.slots if not s.busy), None)
                if slot is not None:
                    slot.busy = True
                    pool.last = slot
                    return slot
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                pool.free.wait(left)

    def _give_back(self, slot: _Slot) -> None:
        with self._pool.free:
            slot.busy = False
            self._pool.free.notify_all()

    def _round_trip(self, slot: _Slot, frame: bytes, read: Callable[[dict[str, Any]], _T]
                    ) -> _T | Problem:
        limits = self.limits
        worker = slot.worker
        if worker is None or not worker.usable:
            slot.stop()
            worker = slot.worker = _Worker(limits, self.user)
        deadline = time.monotonic() + limits.wall_seconds
        try:
            wire.send(worker.requests, frame, deadline)
            body = wire.receive(worker.answers, deadline, limits.output_bytes + 65536)
            answer = wire.decode(body)
            if not isinstance(answer, dict):
                raise wire.ProtocolError("not an object")
            if answer.get("retiring"):  # it hit a limit and exits: the next call starts anew
                slot.stop()
            return read(answer)
        except TimeoutError:
            slot.stop()
            return Problem(None, f"the script ran longer than the {limits.wall_seconds:g} s "
                                 "time limit and was stopped; look for an endless loop or "
                                 "a very large computation")
        except (EOFError, BrokenPipeError):
            return self._died(slot, worker)
        except wire.ProtocolError as exc:
            slot.stop()
            return Problem(None, f"the sandbox's worker gave an answer the host refuses "
                                 f"({exc}) and was stopped")

    def _died(self, slot: _Slot, worker: _Worker) -> Problem:
        """The worker ended while working on the request: say why, from how it ended."""
        try:
            worker.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:  # it closed its output but lingers: kill it
            pass
        slot.stop()
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

