"""Configuration: every `IDMFLOW_*` environment variable, read and checked in one place.

`open()` reads them once; the adapters it wires (SMTP, the simulated printer) get parsed
values and never look at the environment themselves. A bad value is one `IdmflowError`
naming the variable, the value and what is allowed, before anything connects, so
`IDMFLOW_PRODUCTION_FAILURE_RATE=abc idmflow processes list` is one line, not a traceback.
The console's session key is read here too (`secret_key`), though only the console uses it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
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
SECURE_COOKIES = "IDMFLOW_SECURE_COOKIES"
SESSION_IDLE = "IDMFLOW_SESSION_IDLE_MINUTES"
SESSION_LIFETIME = "IDMFLOW_SESSION_LIFETIME_HOURS"
PROXIES = "IDMFLOW_PROXIES"
IDENTITY_HEADER = "IDMFLOW_IDENTITY_HEADER"
MAX_REQUEST = "IDMFLOW_MAX_REQUEST_BYTES"
OPERATORS_SEE_ALL = "IDMFLOW_OPERATORS_SEE_ALL"
OIDC_ISSUER = "IDMFLOW_OIDC_ISSUER"
OIDC_CLIENT_ID = "IDMFLOW_OIDC_CLIENT_ID"
OIDC_CLIENT_SECRET = "IDMFLOW_OIDC_CLIENT_SECRET"
OIDC_ROLES_CLAIM = "IDMFLOW_OIDC_ROLES_CLAIM"
OIDC_USERNAME_CLAIM = "IDMFLOW_OIDC_USERNAME_CLAIM"

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
    #: the console's cookies carry `Secure`: True always, None only over HTTPS
    secure_cookies: bool | None = None
    session_idle_minutes: int = 30
    session_lifetime_hours: int = 12
    #: addresses of reverse proxies whose X-Forwarded-* (and identity header) are believed
    proxies: tuple[str, ...] = ()
    #: a header naming the logged-in account, set by one of `proxies` (off when None)
    identity_header: str | None = None
    max_request_bytes: int = 10 * 1024 * 1024
    #: every operator sees every batch (else each sees their own; the role supervisor all)
    operators_see_all: bool = False
    #: single sign-on with OpenID Connect (off while `oidc` is None)
    oidc: Oidc | None = None


@dataclass(frozen=True, slots=True)
class Oidc:
    """An OpenID provider the console logs people in with (authorization code + PKCE)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    #: the ID token claim listing the person's console roles
    roles_claim: str = "roles"
    #: the ID token claim that is the console account name
    username_claim: str = "preferred_username"


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


def _flag(name: str, value: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise _bad(name, value, f"use one of {', '.join(_YES + _NO)}")


def _whole(name: str, value: str, low: int, high: int, unit: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise _bad(name, value, f"use a whole number of {unit} from {low} to {high}")
    return number


def _proxies(value: str) -> tuple[str, ...]:
    import ipaddress

    found = []
    for part in (p.strip() for p in value.split(",")):
        try:
            found.append(str(ipaddress.ip_address(part)))
        except ValueError:
            raise _bad(PROXIES, value, f"{part!r} is not an IP address; list the proxies' "
                       "addresses separated by commas, e.g. 127.0.0.1,10.0.0.5") from None
    return tuple(found)


def _header(value: str) -> str:
    if not value.replace("-", "").isalnum():
        raise _bad(IDENTITY_HEADER, value, "use a header name of letters, digits and "
                   "dashes, e.g. X-Remote-User")
    return value


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
        secret_key=get(SECRET_KEY), metrics_token=get(METRICS_TOKEN), **_console(get))


def _console(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The web console's settings (sessions, proxies, limits), parsed."""
    found: dict[str, Any] = {}
    if (value := get(SECURE_COOKIES)) is not None:
        found["secure_cookies"] = _flag(SECURE_COOKIES, value) or None
    if (value := get(SESSION_IDLE)) is not None:
        found["session_idle_minutes"] = _whole(SESSION_IDLE, value, 1, 24 * 60, "minutes")
    if (value := get(SESSION_LIFETIME)) is not None:
        found["session_lifetime_hours"] = _whole(SESSION_LIFETIME, value, 1, 30 * 24, "hours")
    if (value := get(PROXIES)) is not None:
        found["proxies"] = _proxies(value)
    if (value := get(IDENTITY_HEADER)) is not None:
        if get(PROXIES) is None:
            raise _bad(IDENTITY_HEADER, value, f"it is believed only from the proxies in "
                       f"{PROXIES}; set that too")
        found["identity_header"] = _header(value)
    if (value := get(MAX_REQUEST)) is not None:
        found["max_request_bytes"] = _whole(MAX_REQUEST, value, 1024, 1 << 30, "bytes")
    if (value := get(OPERATORS_SEE_ALL)) is not None:
        found["operators_see_all"] = _flag(OPERATORS_SEE_ALL, value)
    if (value := get(OIDC_ISSUER)) is not None:
        found["oidc"] = _oidc(value, get)
    return found


def _oidc(issuer: str, get: Callable[[str], str | None]) -> Oidc:
    parts = urlsplit(issuer)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise _bad(OIDC_ISSUER, issuer, "use the provider's https:// issuer URL (plain http "
                   "only on 127.0.0.1, for tests)")
    client_id, secret = get(OIDC_CLIENT_ID), get(OIDC_CLIENT_SECRET)
    if not client_id or not secret:
        missing = OIDC_CLIENT_ID if not client_id else OIDC_CLIENT_SECRET
        raise _bad(OIDC_ISSUER, issuer, f"single sign-on needs {missing} too")
    return Oidc(issuer.rstrip("/"), client_id, secret,
                roles_claim=get(OIDC_ROLES_CLAIM) or "roles",
                username_claim=get(OIDC_USERNAME_CLAIM) or "preferred_username")
