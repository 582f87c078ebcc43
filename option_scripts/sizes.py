"""How big a reply may be: the size limits on values, results and problems, and their floors.

The host does work for every byte a script hands back (decoding, checking, storing, drawing
a page, printing JSON), outside the worker's limits. So the worker refuses, with the line
and a message naming the limit, a value whose strings, lists, nesting or total size pass
`Sizes`, a script with too many top-level names, and lists at most `problems` problems. The
limits may be raised or lowered, but never below the floors: every script accepted within
those sizes stays accepted. Shared by both sides: the host builds `Sizes`, the worker gets
them as a dict and walks values with `too_large`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

#: the lowest each limit may be set to (see the module docstring)
FLOORS = {"source_bytes": 256 * 1024, "value_bytes": 1 << 20, "string_chars": 1 << 20,
          "list_items": 5_000, "names": 1_000, "depth": 20, "problems": 10}


@dataclass(frozen=True, slots=True)
class Sizes:
    """The size limits of one call; each at least its floor in `FLOORS`."""

    #: a script's source, UTF-8 encoded (also the most a stored version may hold)
    source_bytes: int = 256 * 1024
    #: all of an evaluation's values together, as JSON
    value_bytes: int = 4 << 20
    #: one str inside a value or result
    string_chars: int = 1 << 20
    #: one list, tuple or dict inside a value or result
    list_items: int = 10_000
    #: top-level names (values and rules) of a script
    names: int = 2_000
    #: how deeply lists and dicts nest in a value or result
    depth: int = 100
    #: problems listed one by one; the rest are counted ("and 12 more problems")
    problems: int = 50

    def __post_init__(self) -> None:
        for name, floor in FLOORS.items():
            value = getattr(self, name)
            if type(value) is not int or value < floor:
                raise ValueError(f"Sizes.{name} must be an int of at least {floor:,}, "
                                 f"not {value!r}")

    def to_wire(self) -> dict[str, int]:
        """The limits as the worker receives them."""
        return asdict(self)


def too_large(value: Any, sizes: dict[str, int]) -> str | None:
    """Why plain `value` passes a size limit (naming it), or None when it fits.

    Walks without recursion, so a deep value costs no stack; stops at the first excess.
    """
    string_chars, list_items, depth_limit = (sizes["string_chars"], sizes["list_items"],
                                             sizes["depth"])
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        item, depth = todo.pop()
        kind = type(item)
        if kind is str:
            if len(item) > string_chars:
                return f"a str of {len(item):,} characters (the limit is {string_chars:,})"
            continue
        if kind is dict or kind is list or kind is tuple:
            if depth >= depth_limit:
                return f"lists or dicts nested more than {depth_limit} levels deep"
            if len(item) > list_items:
                what = "a dict" if kind is dict else "a list"
                return f"{what} of {len(item):,} items (the limit is {list_items:,})"
            children = item.values() if kind is dict else item
            if kind is dict:
                todo.extend((key, depth) for key in item)
            todo.extend((child, depth + 1) for child in children
                        if type(child) in _CONTAINERS or type(child) is str)
    return None


_CONTAINERS = frozenset({dict, list, tuple})


def capped(problems: list[Any], limit: int, more: Any) -> list[Any]:
    """The first `limit` problems, then `more(n)` for the n left out, if any."""
    if len(problems) <= limit:
        return problems
    return [*problems[:limit], more(len(problems) - limit)]


def more_text(count: int) -> str:
    """What stands for `count` problems left out of a list."""
    return f"and {count:,} more problem{'' if count == 1 else 's'}"
