"""A click group whose subcommands are imported when they run, not when `idmflow` starts.

Each command's module pulls in what it needs (the engine, SQLAlchemy, Flask for `serve`);
`idmflow --help` and `idmflow --version` need none of it, so the group lists its commands
from a table of names, targets and one-line helps. A test checks that the table's helps are
the commands' own.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

import click


@dataclass(frozen=True, slots=True)
class Lazy:
    """Where a subcommand lives (`module:attribute`) and its one line in `--help`."""

    target: str
    help: str


class LazyGroup(click.Group):
    """Imports a subcommand's module on first use; lists them without importing any."""

    def __init__(self, *args: object, lazy: Mapping[str, Lazy], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].target.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name].target} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)  # as click's own
        # a lazy command's line is shortened as click shortens a loaded command's own
        rows = [(name, (self.commands.get(name) or click.Command(name, help=self.lazy[name].help)
                        ).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
