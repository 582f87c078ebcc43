"""Option scripts: administrators' Python, run in a sandbox that the host can survive.

THREAT MODEL

Who writes scripts: administrators, through the console or the CLI. They are trusted to
configure processes, not to run code as the server: an admin account (or whoever steals
one) must not read the database credentials, the files or the memory of the host, start
programs, or take the host down. Scripts are also written by people who make mistakes, so
an endless loop or a huge list must end in a clear message, not an outage. Reviewers (the
next admin, an auditor) read scripts and their history: what they see must be what runs.

What a script may do: assign top-level names (also `+=`, also `d[k] += 1`), use if/elif/
else, for and while, try/except (naming the exception), comprehensions, f-strings with
format specs, `def` with defaults and `*args`, `lambda`, unpacking, `raise` and `assert`;
call the built-ins len, min, max, sum, sorted, round, abs, int, float, str, bool, list,
dict, set, tuple, range, enumerate, zip, any, all, isinstance, reversed, divmod, chr, ord
and the common exceptions; call the methods of str, list, dict, set and tuple, and take
the non-mutating ones as functions (`sorted(names, key=str.lower)`). A leading UTF-8 BOM is
ignored. Its top-level plain-data names are its values; its top-level functions are rules,
which the engine calls on plain data (read-only copies, never host objects), and which
must return plain data. Non-ASCII names are fine (`Größe = 3`).

What a script may not do, refused with a problem naming the line: import; use names or
attributes beginning with "_"; use any other built-in (exec, eval, compile, open, getattr,
setattr, type, vars, dir, globals, id, repr, format, print, input, breakpoint, SystemExit,
...); reach any attribute but those methods (so no `format`/`format_map`, no frames,
generators' `gi_frame`, functions' globals, exceptions' `obj`); define classes, use with,
yield, global, nonlocal, async, match, decorators, bare `except:` or `except*`; assign
attributes; change the read-only items a rule receives (the mutating methods are not
offered as functions either, so `list.append(item, x)` cannot bypass the copy); name a
helper that is a typo or a Unicode confusable look-alike of an option or rule.

No leaks: the printed form of a host object (`str(len)`, `f"{min}"`, `"%s" % len`) is
refused; an exception's own message (which Python may build from a repr: `[].index(len)`)
is scrubbed on every path into a value or a message (str(), f-strings, `%` of str and
bytes, problems), nested reprs (`<function f.<locals>.<lambda> at 0x..>`) included, and
the sandbox's guard functions never show by name. Values are strict: no NaN or Infinity,
no NUL, no lone surrogate, so what is accepted can be stored (PostgreSQL's JSONB) and
printed as strict JSON.

Limits, per call (`Limits`): 2 s of CPU, 256 MB of address space, 5 s of wall-clock time,
32 MB of answer; and what a reply may hold (`Sizes`): 256 KB of source, 4 MB of values,
1 Mi characters in a str, 10,000 items in a list or dict, 100 levels of nesting, 2,000
top-level names, 50 problems listed (the rest counted). The sizes are configurable, never
below their floors (256 KB, 1 MB, 1 Mi, 5,000, 20 levels, 1,000 names), so a script
within the floors is accepted whatever the configuration. A script over its CPU time is
stopped by a signal inside the script (the problem names the line); a loop inside C that
never sees that signal is killed by the host after the wall-clock time, and by the kernel
at the worker's hard CPU limit (its whole life's budget, which it retires before). A
MemoryError becomes "needs more than 256 MB"; a RecursionError says so; a crashed worker is
a problem too. The next call starts a fresh worker; the host keeps running throughout. The
host's own work per reply is bounded too: compact JSON, a typo check in C (rapidfuzz), a
compiled-process cache with a size budget.

Admins do not hurt each other: a pool of workers (2 by default), a call that finds them
all busy waits at most `wait_seconds` and is then told "the sandbox is busy; try again";
the console lets each account run one Validate, Preview or Save at a time and 30 a minute;
refused compiles are never cached in a worker; every worker hashes with PYTHONHASHSEED=0,
so a rule over a set decides alike in each.

How it is built, two walls deep:

1. RestrictedPython (>= 8.4, for its published escapes: format strings, generator frames,
   AttributeError.obj, try/except*, positional-only guard shadowing, string.Formatter)
   with a tighter policy (`policy`) and allowlisting guards (`guards`), whose own
   parameters are positional-only (`dict(**d, function=1)` cannot collide with them).
2. A separate worker process (`worker`, started by `spawn`, confined by `confinement`): a
   fresh interpreter, never a fork, with an environment of one variable (the hash seed),
   cwd "/", its own process group (which `stop()` kills whole), resource limits, speaking
   length-prefixed JSON over pipes (`wire`). After its imports it drops to `nobody` (when
   the host is root; configurable) with no supplementary groups, asks for SIGKILL when the
   host dies (PR_SET_PDEATHSIG), sets PR_SET_NO_NEW_PRIVS and loads a seccomp allow-list:
   read/write on its pipes, memory, time, its own limits, signals to itself, exit.
   open/openat, fork and clone of processes, execve, socket, kill of another process,
   ptrace and every path-based call fail with EPERM. The host makes itself non-dumpable
   (PR_SET_DUMPABLE 0) before its first worker starts, so a process of its own user can
   neither ptrace it nor read its /proc files. The host checks every answer field by field
   (`answers`) before believing it.

What each wall guarantees: wall 1 keeps a script to plain data and the offered built-ins;
nothing it prints or raises carries a host object. Wall 2 holds for code that escaped wall
1 as plain Python (`tests/option_scripts/test_sandbox_wall2.py` runs such payloads in a
worker started exactly as the sandbox starts it): it cannot fork, exec, open a file or a
socket (so no connection to the database), change any file by path, signal the host or
read the host's /proc; it can read and write only its two pipes, and the host accepts
only JSON from them.

What they do not guarantee (residual risk): an escape can still spend its own CPU and
memory up to the limits, lie in its answers (the host only believes checked plain data,
and a lie about one script's values is what that admin could write anyway), and read
whatever the worker's memory holds (the script and items of the current call). Kernel
bugs in the allowed calls are outside both walls. Without libseccomp or off Linux the
worker starts without the missing protections and idmflow says so once (a warning on the
`idmflow.option_scripts` logger); `Sandbox.missing_protections` lists them. A host that
needs more (namespaces, a separate machine) puts the product in a container. The limits
need a POSIX system (resource, signals, poll); RLIMIT_AS is enforced on Linux. The console's
per-account limits are per process.

Approaches rejected:

- RestrictedPython in the host process alone: no CPU or memory limit can stop a script
  there, and an escape would be code execution inside the host with its secrets.
- multiprocessing (spawn or forkserver): it pickles answers, so an escaped worker could run
  code in the host by sending a crafted pickle; spawn also re-imports the host's `__main__`
  in the child, and fork copies the host's memory (connections, secrets) into the worker.
  `subprocess` plus JSON starts a clean interpreter and accepts only data.
- A process per call: about 100 ms to start each; a warm reusable worker evaluates a small
  script in well under a millisecond and runs a rule over 100,000 items in one round trip.
- Threads with a timeout: a thread cannot be killed, and shares the host's memory.
- A denylist of dangerous attributes (`__class__`, `__globals__`, ...): every published
  escape found an attribute the list forgot; the guards allow by exact type instead.
- A seccomp denylist: the allow-list refuses what nobody thought of; the worker needs few
  calls once its imports are done.
- Linux namespaces (unshare, bubblewrap): they need a tool or privileges that hosts and
  containers often lack; seccomp and the user drop work from an ordinary process.
- Plain `ast.literal_eval` or JSON options: rules need functions.
"""

from __future__ import annotations

from .checks import OptionSchema, RuleSchema, check
from .results import Evaluation, Problem, RuleInfo, RuleResults
from .sandbox import Limits, Sandbox, default_sandbox
from .sizes import Sizes

__all__ = [
    "Evaluation", "Limits", "OptionSchema", "Problem", "RuleInfo", "RuleResults", "RuleSchema",
    "Sandbox", "Sizes", "check", "default_sandbox",
]
