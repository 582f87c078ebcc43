"""Plain data: what may cross between a script and the host, and how it is kept plain.

Plain data is None, bool, int, float, str, and lists, tuples and str-keyed dicts of them.
It is the only thing a script's values, a rule's arguments and a rule's results may be,
so that no host object (a function, a class, a module, a frame) ever reaches a script and
no script object ever reaches the host. Its printed form is also the only printed form a
script may produce: `str()`, f-strings and `%` refuse anything else (see `guards`).

This module is shared by both sides of the process boundary: the worker checks values
before it answers, and the host checks the items it sends to a rule.
"""

from __future__ import annotations

import math
import re
import types
from typing import Any, NoReturn

#: deeper nesting is refused rather than walked, so a cycle or a pathological structure
#: ends in a clear problem instead of a RecursionError
MAX_DEPTH = 100
#: Python refuses to print longer integers anyway (sys.int_info.default_max_str_digits)
MAX_INT_BITS = 14_000

#: plain leaves that need no further look (int, float and str do: see `not_plain`)
_LEAVES = frozenset({type(None), bool})
#: a lone surrogate cannot be encoded as UTF-8, so neither JSON nor a database holds it
_SURROGATE = re.compile("[\ud800-\udfff]")


def _bad_text(text: str) -> str | None:
    """Why a str cannot be stored (PostgreSQL refuses NUL; UTF-8 refuses lone surrogates)."""
    if "\x00" in text:
        return "a str holding a NUL character (\\x00), which cannot be stored"
    if not text.isascii() and _SURROGATE.search(text):
        return "a str holding a lone surrogate (\\ud800-\\udfff), which is not text"
    return None


def not_plain(value: Any, depth: int = 0) -> str | None:
    """Why `value` is not plain data (e.g. "a function"), or None when it is.

    Plain data is also strict: JSON holds no NaN or Infinity and PostgreSQL's JSONB no NUL,
    so such values are refused here, where the line is known, not when they are stored.
    """
    kind = type(value)
    if kind in _LEAVES:
        return None
    if kind is str:
        return _bad_text(value)
    if kind is float:
        return None if math.isfinite(value) else \
            "a float that is NaN or infinite, which JSON cannot hold"
    if kind is int:
        return "an integer with more than 4000 digits" if value.bit_length() > MAX_INT_BITS \
            else None
    if depth >= MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep (or containing itself)"
    if isinstance(value, (list, tuple)) and kind in _SEQUENCES:
        for item in value:
            if type(item) not in _LEAVES:
                reason = not_plain(item, depth + 1)
                if reason:
                    return reason
        return None
    if isinstance(value, dict) and kind in _MAPPINGS:
        for key, item in value.items():
            if type(key) is not str:
                return "a dict with a key that is not a string" + (
                    f" ({key!r})" if not_plain(key) is None else "")
            if (reason := _bad_text(key)) is not None:
                return reason.replace("a str", "a dict key", 1)
            if type(item) not in _LEAVES:
                reason = not_plain(item, depth + 1)
                if reason:
                    return reason
        return None
    return describe(value)


def is_plain(value: Any) -> bool:
    """Whether `value` is plain data."""
    return not_plain(value) is None


def describe(value: Any) -> str:
    """Name what kind of object `value` is without printing it (no repr, no address)."""
    if isinstance(value, (types.FunctionType, types.LambdaType)):
        return "a function"
    if isinstance(value, (types.BuiltinFunctionType, types.MethodType,
                          types.BuiltinMethodType, types.MethodWrapperType)):
        return "a built-in function or method"
    if isinstance(value, type):
        return "a class"
    if isinstance(value, types.ModuleType):
        return "a module"
    if isinstance(value, (types.GeneratorType, types.CoroutineType)):
        return "a generator"
    if isinstance(value, BaseException):
        return "an exception"
    if isinstance(value, (set, frozenset)):
        return "a set (use a list, e.g. sorted(x))"
    if isinstance(value, (bytes, bytearray)):
        return "bytes (use a str)"
    if isinstance(value, range):
        return "a range (use a list, e.g. list(range(3)))"
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name} object"


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(f"this {type(self).__bases__[0].__name__} is a read-only copy of the "
                    "host's data; copy it first, e.g. dict(x) or list(x)")


class ReadOnlyDict(dict[str, Any]):
    """A dict a rule may read but not change: its argument is the host's data."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse


class ReadOnlyList(list[Any]):
    """A list a rule may read but not change: its argument is the host's data."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = clear = extend = insert = pop = remove = reverse = sort = _refuse


_SEQUENCES = (list, tuple, ReadOnlyList)
_MAPPINGS = (dict, ReadOnlyDict)


def read_only(value: Any) -> Any:
    """A read-only copy of plain `value` (decoded JSON): dicts and lists cannot be changed."""
    kind = type(value)
    if kind is dict:
        for item in value.values():
            if type(item) is dict or type(item) is list:
                return ReadOnlyDict({k: read_only(v) for k, v in value.items()})
        return ReadOnlyDict(value)  # the common flat record: one C-level copy
    if kind is list:
        return ReadOnlyList([read_only(v) for v in value])
    return value


# The printed forms of host objects; scrubbed from any message as a last line of defence
# (the guards already refuse to print such objects, this catches Python's own messages).
# A repr may hold `<locals>`, `<lambda>` or `<genexpr>`, or a whole inner repr: the pattern
# allows single-word `<...>` tokens inside, and `scrub` repeats it from the inside out.
_HOST_REPR = re.compile(
    r"<(?:built-in |bound |function |class |module |method |generator |frame |code |cell |"
    r"slot wrapper |method-wrapper |coroutine |traceback |async_generator |"
    r"[\w.]+ object )[^<>]*(?:<[\w.-]*>[^<>]*)*>"
    r"|\bat 0x[0-9a-fA-F]+")
_HOST_PATH = re.compile(r"(?:/[\w.+-]+){2,}\.py[cw]?")
#: the sandbox's own function names, as Python's messages would show them; a script knows
#: them as the built-ins they stand for
_GUARD_NAMES = {"safe_str": "str", "safe_isinstance": "isinstance", "guarded_apply": "call",
                "guarded_getattr": "attribute", "guarded_getitem": "index",
                "guarded_getiter": "iteration", "guarded_write": "assignment",
                "guarded_mod": "'%'", "plain_for_format": "format", "augment_item": "'op='",
                "inplace": "'op='", "guarded_unpack_sequence": "unpacking",
                "guarded_iter_unpack_sequence": "unpacking"}
_GUARD = re.compile(r"\b(?:" + "|".join(_GUARD_NAMES) + r")\b")
MAX_MESSAGE = 500


def scrub(text: str) -> str:
    """`text` without host object reprs, guard names or source paths, cut to a readable
    length."""
    text = text[:4 * MAX_MESSAGE]  # the scrub's own work stays small whatever the message
    while True:
        hidden = _HOST_REPR.sub("<hidden>", text)
        if hidden == text:
            break
        text = hidden
    text = _GUARD.sub(lambda m: _GUARD_NAMES[m[0]], _HOST_PATH.sub("<path>", text))
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."
