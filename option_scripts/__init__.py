"""Option scripts: administrators' Python, run in a sandbox that the host can survive.

THREAT MODEL

Who writes scripts: administrators, through the console or the CLI. They are trusted to
configure processes, not to run code as the server: an admin account (or whoever steals
one) must not read the database credentials, the files or the memory of the host, start
programs, or take the host down. Scripts are also written by people who make mistakes, so
an endless loop or a huge list must end in a clear message, not an outage.

What a script may do: assign top-level names (also `+=`, also `d[k] += 1`), use if/elif/
else, for and while, try/except (naming the exception), comprehensions, f-strings with
format specs, `def` with defaults, `lambda`, unpacking, `raise` and `assert`; call the
built-ins len, min, max, sum, sorted, round, abs, int, float, str, bool, list, dict, set,
tuple, range, enumerate, zip, any, all, isinstance and the common exceptions; and call the
methods of str, list, dict, set and tuple. Its top-level plain-data names are its values;
its top-level functions are rules, which the engine calls on plain data (read-only copies,
never host objects), and which must return plain data.

What a script may not do, refused with a problem naming the line: import; use names or
attributes beginning with "_"; use any other built-in (exec, eval, compile, open, getattr,
setattr, type, vars, dir, globals, id, repr, format, print, input, breakpoint, SystemExit,
...); reach any attribute but those methods (so no `format`/`format_map`, no frames,
generators' `gi_frame`, functions' globals, exceptions' `obj`); define classes, use with,
yield, global, nonlocal, async, match, decorators, bare `except:` or `except*`; assign
attributes; change the read-only items a rule receives. The printed form of a host object
(`str(len)`, `f"{min}"`, `"%s" % len`) is refused too, and messages coming back are
scrubbed of object reprs and paths: a script learns nothing of the host from text.

Limits, per call (`Limits`): 2 s of CPU, 256 MB of address space, 5 s of wall-clock time,
32 MB of answer. A script over its CPU time is stopped by a signal inside the script (the
problem names the line); a MemoryError becomes "needs more than 256 MB"; a RecursionError
says so; a computation stuck inside C is killed by the host after the wall-clock time, and
a crashed worker (a C-stack overflow, say) is a problem too. The next call starts a fresh
worker; the host keeps running throughout.

How it is built, two walls deep:

1. RestrictedPython (>= 8.4, for its published escapes: format strings, generator frames,
   AttributeError.obj, try/except*, positional-only guard shadowing, string.Formatter)
   with a tighter policy (`policy`) and allowlisting guards (`guards`).
2. A separate worker process (`worker`), started as a fresh interpreter with an empty
   environment and resource limits, speaking length-prefixed JSON over pipes (`wire`). If
   wall 1 ever fell, the escaped code would hold a process that has no secrets in memory,
   can open no file, start no process and hand the host nothing but JSON, which the host
   checks field by field (`answers`) before believing it.

Residual risk: an escape from wall 1 runs as the host's user inside the worker, with the
descriptors it already holds; a host that needs more puts the product in a container. The
limits need a POSIX system (resource, signals, poll); RLIMIT_AS is enforced on Linux.

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
- Plain `ast.literal_eval` or JSON options: rules need functions.
"""

from __future__ import annotations

from .checks import OptionSchema, RuleSchema, check
from .results import Evaluation, Problem, RuleInfo, RuleResults
from .sandbox import Limits, Sandbox, default_sandbox

__all__ = [
    "Evaluation", "Limits", "OptionSchema", "Problem", "RuleInfo", "RuleResults", "RuleSchema",
    "Sandbox", "check", "default_sandbox",
]
