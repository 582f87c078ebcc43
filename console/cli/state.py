"""What every command shares: the database URL and, once a command needs it, the engine."""

from __future__ import annotations

from idmflow.engine import Engine
from idmflow.engine import open as open_engine


class State:
    """Opened lazily, so `idmflow --help` and `idmflow init` need no working schema."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = open_engine(self.url)
        return self._engine
