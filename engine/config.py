"""Configuration: every `IDMFLOW_*` environment variable, read and checked in one place.

`open()` reads them once; the adapters it wires (SMTP, the simulated printer) get parsed
values and never look at the environment themselves. A bad value is one `IdmflowError`
naming the variable, the value and what is allowed, before anything connects, so
`IDMFLOW_PRODUCTION_FAILURE_RATE=abc idmflow processes list` is one line, not a traceback.
The console's session key is read here too (`secret_key`), though only the console uses it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from idmflow.storage.database import DEFAULT_URL as DEFAULT_DATABASE_URL
from idmflow.storage.smtp import DEFAULT_SENDER, DEFAULT_URL as DEFAULT_SMTP_URL
from idmflow.storage.smtp import SmtpServer

from .errors import IdmflowError

DATABASE_URL = "IDMFLOW_DATABASE_URL"
SMTP_URL = "IDMFLOW_SMTP_URL"
MAIL_FROM = "IDMFLOW_MAIL_FROM"
FAILURE_RATE = "IDMFLOW_PRODUCTION_FAILURE_RATE"
SEED = "IDMFLOW_PRODUCTION_SEED"
SECRET_KEY = "IDMFLOW_SECRET_KEY"
METRICS_TOKEN = "IDMFLOW_METRICS_TOKEN"

_YES = ("1", "true", "yes")
_NO = ("0", "false", "no")


@dataclass(frozen=True, slots=True)
class Settings:
    """What the environment configures, parsed."""

    database_url: str
    smtp: SmtpServer
    #: whether IDMFLOW_SMTP_URL is set (else `smtp` is the default, 127.0.0.1:25)
    smtp_configured: bool
    mail_from: str
    production_failure_rate: float
    production_seed: int | None
    secret_key: str | None
    #: the bearer token `/metrics` asks for; unset: no metrics
    metrics_token: str | None = None


def _bad(name: str, value: str, allowed: str) -> IdmflowError:
    return IdmflowError(f"{name}={value!r} is not allowed: {allowed}")


def smtp_server(url: str, *, name: str = SMTP_URL) -> SmtpServer:
    """An SMTP URL (`smtp://host:port`, `smtps://user:pw@host:465`, `?starttls=1`) parsed."""
    shown = SmtpServer.masked(url)
    allowed = ("use smtp://host:port, smtp://user:password@host:587?starttls=1 or "
               "smtps://user:password@host:465")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise _bad(name, shown, f"it must start with smtp:// or smtps://; {allowed}")
    try:
        port = parts.port
    except ValueError:
        raise _bad(name, shown, f"the port must be a number from 1 to 65535; {allowed}") from None
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0].lower()
    if starttls not in _YES + _NO:
        raise _bad(name, shown, f"starttls must be one of {', '.join(_YES + _NO)}")
    tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname or "127.0.0.1", port=port or (465 if tls else 25), tls=tls,
        starttls=starttls in _YES, user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None)


def _database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError:
        raise _bad(DATABASE_URL, value, "use e.g. sqlite:///idmflow.db or "
                   "postgresql+psycopg://user:password@host/db") from None
    return value


def _mail_from(value: str) -> str:
    if "@" not in parseaddr(value)[1]:
        raise _bad(MAIL_FROM, value, "use an address such as idmflow@example.org or "
                   "'idmflow <idmflow@example.org>'")
    return value


def _failure_rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:  # also refuses nan
        raise _bad(FAILURE_RATE, value, "use a number from 0.0 (no card fails) to 1.0 "
                   "(every card fails)")
    return rate


def _seed(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _bad(SEED, value, "use a whole number, e.g. 42") from None


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting from `environ` (default: `os.environ`); an empty variable is unset.

    Raises:
        IdmflowError: a variable's value is not allowed (the message says what is).
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(name) or None

    database = get(DATABASE_URL)
    smtp = get(SMTP_URL)
    sender = get(MAIL_FROM)
    rate = get(FAILURE_RATE)
    seed = get(SEED)
    return Settings(
        database_url=_database_url(database) if database else DEFAULT_DATABASE_URL,
        smtp=smtp_server(smtp or DEFAULT_SMTP_URL),
        smtp_configured=smtp is not None,
        mail_from=_mail_from(sender) if sender else DEFAULT_SENDER,
        production_failure_rate=_failure_rate(rate) if rate else 0.0,
        production_seed=_seed(seed) if seed else None,
        secret_key=get(SECRET_KEY),
        metrics_token=get(METRICS_TOKEN))
