"""What every command shares: the database URL and, once a command needs it, the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from idmflow.engine import Engine


class State:
    """Opened lazily, so `idmflow --help` and `idmflow init` need no working schema."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from idmflow.engine.wiring import open as open_engine

            self._engine = open_engine(self.url)
        return self._engine
