"""The console's hold on the engine: one `Console` per Flask app, kept in `app.extensions`.

Blueprints reach the engine through `engine()` instead of a module global, so a host can
mount them on its own app with its own engine, and tests can run two apps side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from idmflow.engine import Engine

from .runs import BackgroundRuns

EXTENSION = "idmflow"


@dataclass(frozen=True, slots=True)
class Console:
    """What the console's pages share: the engine and the steps running in the background."""

    engine: Engine
    runs: BackgroundRuns


def attach(app: Flask, engine: Engine) -> Console:
    """Give `app` an engine; the blueprints find it there."""
    state = Console(engine, BackgroundRuns(engine))
    app.extensions[EXTENSION] = state
    return state


def console() -> Console:
    """The console state of the current app (`attach` must have run)."""
    state: Console = current_app.extensions[EXTENSION]
    return state


def engine() -> Engine:
    """The engine of the current app."""
    return console().engine
