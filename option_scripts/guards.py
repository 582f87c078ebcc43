"""What a script may touch at run time: the guard functions and the built-ins it is given.

RestrictedPython compiles `a.b` into `_getattr_(a, "b")`, `a[k]` into `_getitem_(a, k)`,
and so on; these functions decide. The policy is an allowlist by exact type: a script
reaches the methods of str, list, dict, set and tuple and nothing else (no attribute of a
function, class, module, exception, generator or frame), so the published escapes through
`format`, `gi_frame`, `AttributeError.obj` or `__globals__` have nothing to start from.
Printing is guarded too: `str()`, f-strings and `%` refuse anything but plain data, so the
printed form of a host object never reaches a value, an output or a message.

The worker also uses this module to stop a script at its CPU limit: the signal handler
raises `CpuLimitExceeded` (a BaseException, so `except Exception:` does not swallow it), and
every guard raises it again once the limit has passed.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence

from .plain import ReadOnlyDict, ReadOnlyList, describe, not_plain, scrub


class CpuLimitExceeded(BaseException):
    """The script used up its CPU time; scripts cannot name or catch it."""


class _Clock:
    """Whether a script is running and whether its CPU time has run out."""

    running = False
    expired = False


CLOCK = _Clock()


def expire() -> None:
    """Called from the CPU-limit signal handler: stop the running script now and later."""
    if CLOCK.running:
        CLOCK.expired = True
        raise CpuLimitExceeded()


def _check() -> None:
    if CLOCK.expired:
        raise CpuLimitExceeded()


_STR = frozenset(
    "capitalize casefold center count endswith expandtabs find index isalnum isalpha isascii "
    "isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join "
    "ljust lower lstrip maketrans partition removeprefix removesuffix replace rfind rindex "
    "rjust rpartition rsplit rstrip split splitlines startswith strip swapcase title translate "
    "upper zfill".split())
_LIST_READ = frozenset({"copy", "count", "index"})
_LIST = _LIST_READ | {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"}
_DICT_READ = frozenset({"copy", "get", "items", "keys", "values"})
_DICT = _DICT_READ | {"clear", "pop", "popitem", "setdefault", "update"}
_SET = frozenset(
    "add clear copy difference difference_update discard intersection intersection_update "
    "isdisjoint issubset issuperset pop remove symmetric_difference "
    "symmetric_difference_update union update".split())
#: exact type -> the attributes a script may read on it; anything else is refused
ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _STR, list: _LIST, dict: _DICT, set: _SET, tuple: frozenset({"count", "index"}),
    ReadOnlyList: _LIST_READ, ReadOnlyDict: _DICT_READ,
}
_SET_READ = frozenset(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference "
    "union".split())
_INDEXABLE = frozenset({str, list, tuple, dict, range, ReadOnlyList, ReadOnlyDict})
_WRITABLE = frozenset({list, dict})


def guarded_getattr(obj: Any, name: str) -> Any:
    """`obj.name`, for the allowed methods of plain containers only."""
    if CLOCK.expired:  # inline: these run for every access
        raise CpuLimitExceeded()
    if name in ATTRIBUTES.get(type(obj), ()):
        return getattr(obj, name)
    if (obj is safe_str or type(obj) is type) and name in _UNBOUND.get(obj, ()):
        # `str.lower` as a function, e.g. sorted(names, key=str.lower)
        return getattr(str if obj is safe_str else obj, name)
    if name in ("format", "format_map") and isinstance(obj, str):
        raise AttributeError(f"str.{name}() is not available (it can read any attribute of "
                             "its arguments); use an f-string")
    raise AttributeError(f"'{name}' is not available on {describe(obj)} in option scripts")


def guarded_getitem(obj: Any, key: Any) -> Any:
    """`obj[key]` on str, list, tuple, dict and range only."""
    if CLOCK.expired:  # inline: these run for every access
        raise CpuLimitExceeded()
    if type(obj) in _INDEXABLE:
        return obj[key]
    raise TypeError(f"{describe(obj)} cannot be indexed in option scripts")


def guarded_getiter(obj: Any) -> Any:
    """`for x in obj`: any iterable a script can hold is fine; the check is the CPU clock."""
    if CLOCK.expired:  # inline: these run for every access
        raise CpuLimitExceeded()
    return obj


def guarded_write(obj: Any) -> Any:
    """The target of `obj[key] = value` and `del obj[key]`: the script's lists and dicts."""
    _check()
    if type(obj) in _WRITABLE:
        return obj
    if isinstance(obj, (ReadOnlyDict, ReadOnlyList)):
        raise TypeError("this is a read-only copy of the host's data; copy it first, "
                        "e.g. dict(x) or list(x)")
    raise TypeError(f"{describe(obj)} cannot be changed in option scripts")


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add, "-=": operator.sub, "*=": operator.mul, "/=": operator.truediv,
    "//=": operator.floordiv, "**=": operator.pow, "<<=": operator.lshift,
    ">>=": operator.rshift, "|=": operator.or_, "^=": operator.xor, "&=": operator.and_,
    "@=": operator.matmul,
}
_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "|=": operator.ior,
    "^=": operator.ixor, "&=": operator.iand,
}


def inplace(op: str, target: Any, value: Any) -> Any:
    """`target op= value`: in place for the script's own list, dict and set; else a new value."""
    _check()
    if op == "%=":
        return guarded_mod(target, value)
    if type(target) in (list, dict, set) and op in _INPLACE:
        return _INPLACE[op](target, value)
    return _BINARY[op](target, value)


def augment_item(container: Any, key: Any, op: str, value: Any) -> None:
    """`container[key] op= value` (RestrictedPython itself refuses it)."""
    guarded_write(container)[key] = inplace(op, guarded_getitem(container, key), value)


def guarded_apply(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """A call with `*args` or `**kwargs` (positional-only: `dict(**d, function=1)` works)."""
    _check()
    return function(*args, **kwargs)


def _printable(value: Any, how: str) -> None:
    """Refuse to print anything but plain data (exceptions print their plain message)."""
    if isinstance(value, Exception) and not_plain(list(value.args)) is None:
        return
    reason = not_plain(value)
    if reason:
        raise TypeError(f"{how} of {reason} is not allowed: only plain data can be printed")


def plain_for_format(value: Any) -> Any:
    """The value of an f-string field, once known to be plain."""
    if type(value) not in (str, int, float, bool):
        _printable(value, "formatting")
        if isinstance(value, Exception):
            return scrub(str(value))
    return value


def guarded_mod(left: Any, right: Any, /) -> Any:
    """`left % right`: for str and bytes, only plain data may be formatted, and an
    exception is formatted as its scrubbed message (its own message may hold a repr)."""
    _check()
    if isinstance(left, (str, bytes)):
        if isinstance(right, tuple):
            right = tuple(_formattable(item) for item in right)
        elif type(right) is dict:
            right = {key: _formattable(item) for key, item in right.items()}
        else:
            right = _formattable(right)
    return left % right


def _formattable(value: Any) -> Any:
    _printable(value, "'%' formatting")
    return scrub(str(value)) if isinstance(value, Exception) else value


def safe_str(value: Any = "", /) -> str:
    """`str(value)` for plain data only; an exception gives its plain message."""
    if type(value) is str:
        return value
    _printable(value, "str()")
    return scrub(str(value)) if isinstance(value, Exception) else str(value)


def safe_isinstance(obj: Any, class_or_tuple: Any, /) -> bool:
    """`isinstance`, knowing that the script's `str` is `safe_str`."""
    return isinstance(obj, _real_type(class_or_tuple))


# Python names a function by its own name in messages ("safe_str() takes ..."): a script
# knows these two as the built-ins they stand for.
safe_str.__name__ = safe_str.__qualname__ = "str"
safe_isinstance.__name__ = safe_isinstance.__qualname__ = "isinstance"


def _real_type(kinds: Any) -> Any:
    if kinds is safe_str:
        return str
    if isinstance(kinds, tuple):
        return tuple(_real_type(kind) for kind in kinds)
    return kinds


#: the script's `str`, `list`, ... -> the methods it may take from them as functions; only
#: those that change nothing, so `list.append(a_read_only_copy, x)` cannot bypass the copy
_UNBOUND: dict[Any, frozenset[str]] = {
    safe_str: _STR, list: _LIST_READ, dict: _DICT_READ, tuple: frozenset({"count", "index"}),
    set: _SET_READ,
}

SAFE_BUILTINS: dict[str, Any] = {
    "len": len, "min": min, "max": max, "sum": sum, "sorted": sorted, "round": round,
    "abs": abs, "int": int, "float": float, "str": safe_str, "bool": bool, "list": list,
    "dict": dict, "set": set, "tuple": tuple, "range": range, "enumerate": enumerate,
    "zip": zip, "any": any, "all": all, "isinstance": safe_isinstance,
    "reversed": reversed, "divmod": divmod, "chr": chr, "ord": ord,
    "Exception": Exception, "ArithmeticError": ArithmeticError,
    "AssertionError": AssertionError, "AttributeError": AttributeError,
    "IndexError": IndexError, "KeyError": KeyError, "LookupError": LookupError,
    "NameError": NameError, "OverflowError": OverflowError, "RecursionError": RecursionError,
    "RuntimeError": RuntimeError, "TypeError": TypeError, "ValueError": ValueError,
    "ZeroDivisionError": ZeroDivisionError,
    # the names RestrictedPython's rewritten code calls; a script cannot name them itself
    "_getattr_": guarded_getattr, "_getitem_": guarded_getitem, "_getiter_": guarded_getiter,
    "_write_": guarded_write, "_inplacevar_": inplace, "_apply_": guarded_apply,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_plain_": plain_for_format, "_mod_": guarded_mod, "_augitem_": augment_item,
}
