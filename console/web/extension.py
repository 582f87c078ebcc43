"""The console's hold on the engine: one `Console` per Flask app, kept in `app.extensions`.

Blueprints reach the engine through `engine()` instead of a module global, so a host can
mount them on its own app with its own engine, and tests can run two apps side by side.
The settings are read once, when the console is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app

from idmflow.engine import Engine
from idmflow.engine.config import Settings
from idmflow.storage.sessions import LoginFailures, SessionStore

from .runs import BackgroundRuns

EXTENSION = "idmflow"

#: a host's own login: the username of the account logged in to the host, or None
Identity = Callable[[], "str | None"]


@dataclass(frozen=True, slots=True)
class Console:
    """What the console's pages share: the engine, background steps, sessions, settings."""

    engine: Engine
    runs: BackgroundRuns
    settings: Settings
    sessions: SessionStore
    failures: LoginFailures
    identity: Identity | None = None
    #: where the host mounted the console ("" at the root); its cookies are scoped to it
    url_prefix: str = ""


def attach(app: Flask, engine: Engine, settings: Settings, *,
           identity: Identity | None = None, url_prefix: str = "") -> Console:
    """Give `app` an engine; the blueprints find it there."""
    state = Console(engine, BackgroundRuns(engine), settings, SessionStore(engine.db),
                    LoginFailures(engine.db), identity, url_prefix)
    app.extensions[EXTENSION] = state
    return state


def console() -> Console:
    """The console state of the current app (`attach` must have run)."""
    state: Console = current_app.extensions[EXTENSION]
    return state


def engine() -> Engine:
    """The engine of the current app."""
    return console().engine
