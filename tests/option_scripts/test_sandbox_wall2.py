"""Wall 2 on its own: plain Python (not RestrictedPython) inside a worker started exactly as
the sandbox starts it, as an escape from wall 1 would find it.

Each payload runs right after the worker's own `prepare()` (its limits, the user drop, no
new privileges, the parent-death signal, seccomp), started by the sandbox's own `spawn`
with its own command line and environment; only what runs after `prepare()` differs. The
boot imports `socket` first, so a refused connection proves the filter, not a missing
module. Each refusal is an EPERM from the kernel; the host's files and process are checked
afterwards.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idmflow.option_scripts import Sandbox, confinement, spawn, wire

if not sys.platform.startswith("linux"):
    pytest.skip("wall 2's seccomp filter and parent-death signal are Linux's",
                allow_module_level=True)
if confinement.load_binding() is None:
    pytest.skip("pyseccomp or libseccomp (Debian: libseccomp2) is not installed",
                allow_module_level=True)

#: the worker's boot, up to `prepare()`, then one payload from the pipe, run unrestricted
PAYLOAD_BOOT = (
    "import sys, json, socket; sys.path += [p for p in json.loads(sys.argv[1]) "
    "if p not in sys.path]\n"
    "from idmflow.option_scripts import wire\n"
    "from idmflow.option_scripts.worker import prepare\n"
    "requests, answers = prepare(json.loads(sys.argv[2]))\n"
    "namespace = {}\n"
    "try:\n"
    "    exec(json.loads(wire.read_blocking(requests))['code'], namespace)\n"
    "    out = {'result': namespace.get('result')}\n"
    "except BaseException as exc:\n"
    "    out = {'error': type(exc).__name__, 'errno': getattr(exc, 'errno', None)}\n"
    "wire.write_blocking(answers, wire.encode(out))\n")


def run_payload(code: str, *, user: str = "nobody") -> dict[str, Any]:
    """Start a worker the sandbox's way, run `code` in it after prepare(), return its answer."""
    config = spawn.worker_config(memory_bytes=256 << 20, cpu_seconds=2.0, user=user)
    process = spawn.start(spawn.command(config, PAYLOAD_BOOT))
    assert process.stdin is not None and process.stdout is not None
    try:
        os.set_blocking(process.stdout.fileno(), False)
        os.set_blocking(process.stdin.fileno(), False)
        deadline = time.monotonic() + 30
        ready = wire.decode(wire.receive(process.stdout.fileno(), deadline, 1024))
        assert ready == {"ready": True, "missing": []}
        wire.send(process.stdin.fileno(), wire.encode({"code": code}), deadline)
        answer = wire.decode(wire.receive(process.stdout.fileno(), deadline, 1 << 20))
        assert isinstance(answer, dict)
        return answer
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()


REFUSED = {
    "fork": "import os\nos.fork()",
    "exec": "import os\nos.execv('/bin/sh', ['sh', '-c', 'true'])",
    "connect to PostgreSQL": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_STREAM)"
                             ".connect(('127.0.0.1', 5432))",
    "a socket at all": "import socket\nsocket.socket()",
    "open a file": "import os\nos.open('/etc/hostname', os.O_RDONLY)",
    "read the host's environ": "import os\nos.open(f'/proc/{os.getppid()}/environ', os.O_RDONLY)",
    "read the host's memory": "import os\nos.open(f'/proc/{os.getppid()}/mem', os.O_RDONLY)",
    "kill the host": "import os, signal\nos.kill(os.getppid(), signal.SIGTERM)",
    "signal the host's group": "import os, signal\nos.killpg(os.getpgid(os.getppid()), 0)",
    "a new descriptor from a pipe": "import os\nos.pipe()",
    "a duplicated descriptor": "import os\nos.dup(0)",
}


@pytest.mark.parametrize("code", REFUSED.values(), ids=REFUSED.keys())
def test_wall_two_refuses(code: str) -> None:
    answer = run_payload(code)
    assert answer.get("errno") == errno.EPERM, answer
    assert os.getppid() and os.getpid()  # the host lives on


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[Path]:
    """A file the worker could reach by path if the filter let it (a SQLite database, say)."""
    tmp_path.chmod(0o777)
    path = tmp_path / "idmflow.db"
    path.write_text("precious")
    path.chmod(0o666)
    yield path


FILE_CHANGES = {
    "create": "import os\nos.open('{dir}/new', os.O_CREAT | os.O_WRONLY, 0o666)",
    "rename": "import os\nos.rename('{path}', '{dir}/moved')",
    "unlink": "import os\nos.unlink('{path}')",
    "truncate": "import os\nos.truncate('{path}', 0)",
    "chmod": "import os\nos.chmod('{path}', 0o600)",
    "mkdir": "import os\nos.mkdir('{dir}/sub')",
    "symlink": "import os\nos.symlink('{path}', '{dir}/link')",
}


@pytest.mark.parametrize("code", FILE_CHANGES.values(), ids=FILE_CHANGES.keys())
def test_wall_two_changes_no_file(victim: Path, code: str) -> None:
    answer = run_payload(code.format(path=victim, dir=victim.parent))
    assert answer.get("errno") == errno.EPERM, answer
    assert sorted(p.name for p in victim.parent.iterdir()) == ["idmflow.db"]
    assert victim.read_text() == "precious" and victim.stat().st_mode & 0o777 == 0o666


def test_what_a_worker_needs_still_works() -> None:
    code = ("import os, signal, resource\n"
            "os.kill(os.getpid(), 0)\n"
            "resource.setrlimit(resource.RLIMIT_CPU, resource.getrlimit(resource.RLIMIT_CPU))\n"
            "result = [os.geteuid(), os.getegid(), os.getgroups(), sum(range(10**6)),\n"
            "          len(bytearray(50 << 20))]\n")
    answer = run_payload(code)
    assert "result" in answer, answer
    if os.geteuid() == 0:
        assert answer["result"][:3] == [65534, 65534, []]  # nobody, no supplementary group
    assert answer["result"][3:] == [sum(range(10**6)), 50 << 20]


def test_the_worker_dies_with_its_host() -> None:
    """The host (here a middle process) is killed; the worker must not run on as an orphan."""
    import subprocess
    middle = subprocess.run(
        [sys.executable, "-c",
         "import os, sys\nfrom idmflow.option_scripts import Sandbox\n"
         "box = Sandbox()\nbox.evaluate('x = 1')\n"
         "print(box._slot.worker.process.pid, flush=True)\nos._exit(0)"],
        capture_output=True, text=True, timeout=60, check=True)
    pid = int(middle.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_kills_the_workers_process_group() -> None:
    with Sandbox() as box:
        box.evaluate("x = 1")
        worker = box._slot.worker
        assert worker is not None
        pid = worker.process.pid
        assert os.getpgid(pid) == pid  # its own group, which stop() kills whole
    assert worker.process.returncode == -signal.SIGKILL


def test_the_host_is_not_dumpable_once_a_worker_ran() -> None:
    with Sandbox() as box:
        box.evaluate("x = 1")
        assert box.missing_protections == ()
    with open("/proc/self/status") as status:
        assert "NoNewPrivs:\t0" in status.read()  # the host itself keeps its privileges
    import ctypes
    assert ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) == 0  # PR_GET_DUMPABLE: 0


def test_a_missing_user_is_a_clear_error_when_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("the user drop applies to a host running as root")
    with pytest.raises(RuntimeError, match="no user 'no-such-idmflow-user'"):
        Sandbox(user="no-such-idmflow-user").evaluate("x = 1")


def test_a_missing_protection_is_said_once(caplog: pytest.LogCaptureFixture) -> None:
    """Where the platform lacks one (no libseccomp, say), the worker starts and idmflow
    says so once per process, not per worker."""
    from idmflow.option_scripts import sandbox as host_side

    caplog.set_level("WARNING", logger="idmflow.option_scripts")
    host_side._report(("a test-only protection",))
    host_side._report(("a test-only protection",))
    assert [r.getMessage() for r in caplog.records] == [
        "option-script sandbox: running without a test-only protection on this system; wall 1 "
        "(RestrictedPython) and the resource limits still hold (see docs/option-scripts.md)"]


def test_the_worker_has_a_hard_cpu_limit() -> None:
    """A loop inside C never sees the soft limit's SIGXCPU; the hard limit is a SIGKILL."""
    with Sandbox() as box:
        box.evaluate("x = 1")
        worker = box._slot.worker
        assert worker is not None
        with open(f"/proc/{worker.process.pid}/limits") as limits:
            line = next(row for row in limits if row.startswith("Max cpu time"))
        expected = str(int(box.limits.cpu_seconds * 20) + 10)
        assert line.split()[3:6] == [expected, expected, "seconds"]  # soft back at hard, idle
