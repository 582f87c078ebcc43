"""Error pages: a plain page with what went wrong and what to do, never a stack trace.

An `IdmflowError` a page did not handle itself becomes the HTTP status it stands for, with
its message (written for people). Anything else is a bug: Flask turns it into a 500, which
gets the same plain page while the trace goes to the log. In debug mode Flask's debugger
still shows traces, as it should on a developer's machine only. `scope.py` registers these
on the console's blueprints only, so a host's routes keep the host's error pages.
"""

from __future__ import annotations

import logging

from flask import render_template
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from idmflow.engine import (Conflict, DatabaseUnavailable, IdmflowError, InputError,
                            NotAllowed, NotFound, OptionScriptError)
from idmflow.storage.database import problem

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[IdmflowError], int, str], ...] = (
    (NotFound, 404, "Not found"),
    (NotAllowed, 403, "Not allowed"),
    (Conflict, 409, "Changed meanwhile"),
    (InputError, 400, "Refused"),
    (OptionScriptError, 400, "Refused"),
    (DatabaseUnavailable, 503, "Database unavailable"),
)


UNAVAILABLE = "The database cannot be reached; try again in a moment."


def page(status: int, title: str, message: str) -> tuple[str, int]:
    """The plain error page."""
    return render_template("idmflow/error.html", status=status, title=title,
                           message=message), status


def http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    if status >= 500:
        message = "Something went wrong on the server. The error has been logged; try again."
    else:
        message = exc.description or ""
    return page(status, exc.name, message)


def idmflow_error(exc: IdmflowError) -> tuple[str, int]:
    if isinstance(exc, DatabaseUnavailable):  # the URL and the driver's words go to the log
        log.warning("%s", exc)
        return page(503, "Database unavailable", UNAVAILABLE)
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return page(status, title, str(exc))
    return page(400, "Refused", str(exc))


def database_error(exc: DBAPIError) -> tuple[str, int]:
    """A database that cannot answer is a 503 with a plain line; any other database error
    is a bug (Flask's 500 page, the trace in the log)."""
    reason = problem(exc)
    if reason is None:
        raise exc
    log.warning("database unavailable: %s", reason)
    return page(503, "Database unavailable", UNAVAILABLE)
