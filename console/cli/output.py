"""How the CLI talks: tables and lines for people, one JSON document for programs.

With `--json`, stdout holds exactly one JSON document; progress and warnings go to stderr.
Identifiers are never cut or wrapped: tables are plain aligned columns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.progress import Progress

#: below this many items a progress bar only flickers
PROGRESS_FROM = 2_000


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout: compact (no indentation, whose cost grows with
    nesting) and strict (NaN or Infinity is a bug of ours, never printed as non-JSON).

    Every command's `--json` goes through here. Dates and other values JSON has no type for
    print as their `str`; non-ASCII text is escaped, so control and bidi characters in a
    value never reach a terminal raw.
    """
    click.echo(json.dumps(document, separators=(",", ":"), allow_nan=False, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print aligned columns; values are never truncated, and control or bidi characters
    in them are shown escaped (a comment holding ESC must not rewrite the terminal)."""
    from idmflow.option_scripts.visible import visible

    cells = [[str(h) for h in headers]] + [["" if v is None else visible(str(v)) for v in r]
                                           for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def note(message: str) -> None:
    """A remark for people, on stderr so JSON on stdout stays clean."""
    click.echo(message, err=True)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A progress callback `(done, total)` drawing a bar on stderr once a total is large.

    The bar is created on the first large total only: small jobs print nothing at all.
    """
    bar: Progress | None = None
    task: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task
        if total < PROGRESS_FROM:
            return
        if bar is None:
            # rich loads with the first large job, not with every command
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeRemainingColumn(), console=Console(file=sys.stderr),
                           transient=True)
            bar.start()
            task = bar.add_task(description, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()
