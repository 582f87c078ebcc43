"""Near misses: which known name a misspelt one most likely meant.

Used on both sides of the process boundary: by `checks` to refuse a helper that looks like a
typo of an option ("CardsBatchRequestAproval"), and by the worker to suggest a name when a
script uses one that is not defined.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz.distance import Levenshtein

#: names at most this many edits apart (ignoring case) count as a likely typo
MAX_TYPO_DISTANCE = 2


def distance(a: str, b: str) -> int:
    """The Levenshtein edit distance between `a` and `b` (insert, delete, substitute)."""
    return int(Levenshtein.distance(a, b))


def meant(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` most likely misspells, or None.

    A name equal to a known one but for case, or at most `MAX_TYPO_DISTANCE` edits from it
    ignoring case, is a likely typo; the closest wins, then the first given. `name` itself
    is never returned. Edits must also change less than half of the known name, so that
    short names ("ab" and "cd") do not count as typos of each other.

    The distance is rapidfuzz's (C, with a cut-off): the host runs this for every top-level
    name of a script, outside the sandbox's limits, so it must stay cheap for 30,000 names.
    """
    best: tuple[int, str] | None = None
    lower = name.lower()
    for candidate in known:
        if candidate == name:
            continue
        # cheap bound first: lengths further apart than the limit cannot be close
        if abs(len(candidate) - len(name)) > MAX_TYPO_DISTANCE:
            continue
        edits = Levenshtein.distance(lower, candidate.lower(), score_cutoff=MAX_TYPO_DISTANCE)
        if edits <= MAX_TYPO_DISTANCE and edits * 2 < len(candidate) \
                and (best is None or edits < best[0]):
            best = (edits, candidate)
    return best[1] if best else None
