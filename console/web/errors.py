"""Error pages: a plain page with what went wrong and what to do, never a stack trace.

An `IdmflowError` a page did not handle itself becomes the HTTP status it stands for, with
its message (written for people). Anything else is a bug: Flask turns it into a 500, which
gets the same plain page while the trace goes to the log. In debug mode Flask's debugger
still shows traces, as it should on a developer's machine only.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template
from sqlalchemy.exc import DBAPIError
from flask_wtf.csrf import CSRFError  # type: ignore[import-untyped]
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
CSRF_HELP = ("The form was refused because its security token is missing or has expired "
             "(CSRF protection). Go back, reload the page and submit the form again.")


def _page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("idmflow/error.html", status=status, title=title,
                           message=message), status


def _http_error(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    if status >= 500:
        message = "Something went wrong on the server. The error has been logged; try again."
    else:
        message = exc.description or ""
    return _page(status, exc.name, message)


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return _page(400, "Form expired", CSRF_HELP)


def _idmflow_error(exc: IdmflowError) -> tuple[str, int]:
    if isinstance(exc, DatabaseUnavailable):  # the URL and the driver's words go to the log
        log.warning("%s", exc)
        return _page(503, "Database unavailable", UNAVAILABLE)
    for kind, status, title in _STATUS:
        if isinstance(exc, kind):
            return _page(status, title, str(exc))
    return _page(400, "Refused", str(exc))


def _database_error(exc: DBAPIError) -> tuple[str, int]:
    reason = problem(exc)
    if reason is None:
        raise exc  # a bug (a constraint, bad SQL): Flask's 500 page, the trace in the log
    log.warning("database unavailable: %s", reason)
    return _page(503, "Database unavailable", UNAVAILABLE)


def install(app: Flask) -> None:
    """Register the error pages on `app`."""
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(IdmflowError, _idmflow_error)
