"""Wall 2's operating-system half: what the worker does to itself before it serves a script.

RestrictedPython is wall 1. If it ever fell, the escaped code would run as plain Python in
the worker; this module decides what that code can then do. After its imports (the Python
installation may be readable only by the host's user), the worker:

- drops to an unprivileged user (default `nobody`) with no supplementary groups, when it
  runs as root: Linux does not apply RLIMIT_NPROC to root, and root reads every file;
- asks for SIGKILL when the host dies (PR_SET_PDEATHSIG), so it never runs on as an orphan,
  and exits at once if the host is already gone;
- sets PR_SET_NO_NEW_PRIVS, so no set-user-ID program could ever give privileges back;
- loads a seccomp allow-list (through libseccomp): reading and writing its pipes, memory,
  time, its own limits and signals to itself, exit. Everything else (open, fork and clone
  of processes, execve, socket, kill of another process, ptrace, every path-based call)
  fails with EPERM.

What is missing on a platform (no libseccomp, not Linux) is reported back to the host,
which says so once (`sandbox`); the worker still starts, with the rest.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_NO_NEW_PRIVS = 38

#: the system calls a confined worker may make: its pipes, memory, time, limits, signals
_ALLOWED = (
    "read", "write", "readv", "writev", "close", "lseek", "poll", "ppoll", "select",
    "pselect6", "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "sigaltstack",
    "getrusage", "getrlimit", "setrlimit", "setitimer", "getitimer", "clock_gettime",
    "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time", "getpid", "gettid",
    "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "futex", "sched_yield", "getrandom",
    "exit", "exit_group", "restart_syscall", "fstat", "sched_getaffinity",
)


def _libc() -> Any:
    # the interpreter's own symbols hold libc's: no library search (which would run a
    # compiler, or read files the worker may no longer open)
    return ctypes.CDLL(None, use_errno=True)


def load_binding() -> Any:
    """Import the seccomp binding while files can still be opened (None when absent)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import pyseccomp  # type: ignore[import-untyped]  # ctypes binding, no stubs
    except (ImportError, OSError):  # the package, or libseccomp.so itself, is missing
        return None
    return pyseccomp


def make_host_undumpable() -> bool:
    """PR_SET_DUMPABLE 0 for the host: a process of the same user (an escaped worker that
    could not drop privileges) can then neither ptrace it nor read its /proc files
    (environ, mem). Returns whether it held (False off Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    return bool(_libc().prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0)


def confine(config: dict[str, Any], seccomp: Any) -> list[str]:
    """Apply wall 2 to this process; the names of the protections that could not be had.

    Args:
        config: the worker's start-up settings (`user`, `host_pid`).
        seccomp: the binding from `load_binding`, or None.

    Raises:
        OSError: the user cannot be taken on, or the host is gone; the worker must not run.
    """
    missing: list[str] = []
    _drop_privileges(config.get("user") or "nobody", config.get("uid"), config.get("gid"))
    if not sys.platform.startswith("linux"):  # prctl and seccomp are Linux's
        return ["pdeathsig", "no_new_privs", "seccomp"]
    libc = _libc()
    # after the drop: changing credentials clears the parent-death signal
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        missing.append("pdeathsig")
    if os.getppid() != config.get("host_pid", os.getppid()):
        raise OSError(errno.ESRCH, "the host is gone")
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        missing.append("no_new_privs")
    if seccomp is None:
        missing.append("seccomp")
    else:
        try:
            _load_filter(seccomp)
        except OSError:  # e.g. a kernel without seccomp, or a container that refuses it
            missing.append("seccomp")
    return missing


def _drop_privileges(user: str, uid: int | None, gid: int | None) -> None:
    """Become `user` (its ids resolved by the host) when running as root."""
    if os.geteuid() != 0:
        return
    if uid is None or gid is None:
        raise OSError(errno.EINVAL, f"no user {user!r} to run the option-script worker as")
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    if os.geteuid() == 0 or os.getegid() != gid:
        raise OSError(errno.EPERM, f"could not become {user!r}")


def _load_filter(seccomp: Any) -> None:
    me = os.getpid()
    allow = seccomp.ALLOW
    rules = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for name in _ALLOWED:
        try:
            rules.add_rule(allow, name)
        except (OSError, ValueError, RuntimeError):
            continue  # a call this architecture does not have
    # signals only to itself (the CPU limit's SIGXCPU/SIGPROF come from the kernel)
    rules.add_rule(allow, "kill", seccomp.Arg(0, seccomp.EQ, me))
    rules.add_rule(allow, "tgkill", seccomp.Arg(0, seccomp.EQ, me))
    # its own limits only: prlimit64 with pid 0 (the caller)
    rules.add_rule(allow, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0))
    rules.load()
