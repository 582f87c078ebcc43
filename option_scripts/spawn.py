"""Starting a worker process: its command line, its environment, and who starts it.

A worker is a fresh interpreter (`python -s -P -X utf8 -c BOOT CONFIG`), never a fork of
the host: it inherits no descriptor but its two pipes, runs in `/`, in a session and process
group of its own (so `stop()` kills whatever it left behind), with an environment that holds
one variable, PYTHONHASHSEED=0: every worker hashes alike, so a rule over a set decides the
same in each. (`-I` would ignore that variable; `-s -P` keep the rest of its isolation, and
the environment is ours, so `-E` has nothing to ignore.)

Workers are started by one long-lived thread. Linux sends the parent-death signal when the
*thread* that started a child ends, not the process: a worker started from a request thread
of a web server would be killed when that thread finished.
"""

from __future__ import annotations

import json
import os
import pwd
import queue
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

#: run in the worker: the host's import path is appended (so a host that found idmflow on
#: PYTHONPATH finds it in the worker too), then the entry point is called with the config
BOOT = ("import sys, json; sys.path += [p for p in json.loads(sys.argv[1]) "
        "if p not in sys.path]; from idmflow.option_scripts.worker import main; "
        "main(json.loads(sys.argv[2]))")


def worker_config(*, memory_bytes: int, cpu_seconds: float, user: str) -> dict[str, Any]:
    """What a worker needs to confine itself; the user's ids are looked up here, in the host.

    Raises:
        RuntimeError: the host runs as root and `user` does not exist.
    """
    config: dict[str, Any] = {
        "memory_bytes": memory_bytes, "cpu_seconds": cpu_seconds,
        # a whole life's CPU time: the worker retires before it, the kernel kills past it
        "cpu_hard": int(cpu_seconds * 20) + 10, "host_pid": os.getpid(), "user": user,
    }
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            raise RuntimeError(f"no user {user!r} to run the option-script worker as; create "
                               "it or pass Sandbox(user=...) an unprivileged user") from None
        if entry.pw_uid == 0:
            raise RuntimeError(f"the option-script worker must not run as root; {user!r} "
                               "is root")
        config.update(uid=entry.pw_uid, gid=entry.pw_gid)
    return config


def command(config: dict[str, Any], boot: str = BOOT) -> list[str]:
    """The worker's command line."""
    paths = [p for p in sys.path if p and os.path.isabs(p)]
    return [sys.executable, "-s", "-P", "-X", "utf8", "-c", boot, json.dumps(paths),
            json.dumps(config)]


def environment() -> dict[str, str]:
    """The worker's whole environment: nothing of the host's secrets."""
    env = {k: os.environ[k] for k in ("LD_LIBRARY_PATH", "SYSTEMROOT") if k in os.environ}
    env["PYTHONHASHSEED"] = "0"
    return env


def start(argv: Sequence[str]) -> subprocess.Popen[bytes]:
    """Start a worker from the spawning thread (see the module docstring)."""
    done: Future[subprocess.Popen[bytes]] = Future()
    _spawner().put((list(argv), done))
    return done.result()


class _Spawner:
    """The thread that starts workers; one per process (a forked child starts its own)."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.jobs: queue.SimpleQueue[tuple[list[str], Future[subprocess.Popen[bytes]]]] = \
            queue.SimpleQueue()
        threading.Thread(target=self._run, name="idmflow-sandbox-spawner", daemon=True).start()

    def put(self, job: tuple[list[str], Future[subprocess.Popen[bytes]]]) -> None:
        self.jobs.put(job)

    def _run(self) -> None:
        while True:
            argv, done = self.jobs.get()
            try:
                done.set_result(subprocess.Popen(
                    argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, cwd="/", env=environment(), close_fds=True,
                    start_new_session=True))
            except BaseException as exc:  # handed to the caller, who raises it
                done.set_exception(exc)


_current: _Spawner | None = None
_lock = threading.Lock()


def _spawner() -> _Spawner:
    global _current
    with _lock:
        if _current is None or _current.owner != os.getpid():
            _current = _Spawner()
        return _current
