"""The one place that wires an engine: database, registry, ports and options.

Defaults come from `storage/`; a host passes its own adapters where it has them. Nothing
connects or reads the environment until `open()` is called; then `config` reads and checks
every variable at once, and the default adapters get the parsed values.
"""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError

from idmflow.storage import schema
from idmflow.storage.database import connect, database_url, safe_url

from . import invariants
from .config import from_environment
from .errors import DatabaseUnavailable, IdmflowError
from .options import OptionsProvider
from .ports import Accounts, Clock, Notifier, Producer, UserDirectory
from .registry import Registry
from .runtime import Engine


def resolve_url(url: str | None = None) -> str:
    """`url`, else `IDMFLOW_DATABASE_URL`, else the SQLite default (checking the whole
    configuration: a bad variable is an `IdmflowError` before anything connects)."""
    return database_url(url or from_environment().database_url)


def connect_database(url: str | None = None) -> SqlEngine:
    """A SQLAlchemy engine for `url`, or an `IdmflowError` saying what is wrong with the URL.

    Nothing is connected yet: an unreachable server shows at first use.
    """
    url = resolve_url(url)
    try:
        return connect(url)
    except ArgumentError as exc:
        raise IdmflowError(f"{safe_url(url)!r} is not a database URL ({exc}); use e.g. "
                           "sqlite:///idmflow.db or postgresql+psycopg://user@host/db") from exc
    except (NoSuchModuleError, ImportError) as exc:
        raise IdmflowError(f"idmflow cannot use the database {safe_url(url)}: {exc}. It runs on "
                           "SQLite and on PostgreSQL (pip install 'idmflow[postgres]')") from exc


def open(url: str | None = None, *, directory: UserDirectory | None = None,
         accounts: Accounts | None = None, notifier: Notifier | None = None,
         clock: Clock | None = None, producer: Producer | None = None,
         options: OptionsProvider | None = None,
         registry: Registry | None = None, check_schema: bool = True) -> Engine:
    """An engine over the database at `url` (default: `IDMFLOW_DATABASE_URL`, else SQLite).

    Raises:
        DatabaseUnavailable: the database cannot be reached (the URL shown without password).
        IdmflowError: the database has no idmflow schema, or an older one; run `idmflow init`.
    """
    # The default adapters import `engine.ports`, so they are imported here, not at the top:
    # `import idmflow.storage.accounts` first must not find `idmflow.engine` half-loaded.
    from idmflow.storage.accounts import SqlAccounts
    from idmflow.storage.clock import SystemClock
    from idmflow.storage.directory import SqlUserDirectory
    from idmflow.storage.production import SimulatedProducer
    from idmflow.storage.smtp import SmtpNotifier

    settings = from_environment()
    url = database_url(url or settings.database_url)
    db = connect_database(url)
    if check_schema:
        try:
            at = schema.current(db)
        except (OperationalError, InterfaceError) as exc:
            db.dispose()
            raise DatabaseUnavailable(safe_url(url), str(exc.orig).strip()) from exc
        if at != schema.head():
            db.dispose()
            state = "has no idmflow schema" if at is None else f"is at schema {at}"
            raise IdmflowError(f"the database {safe_url(url)} {state}, this release needs "
                               f"{schema.head()}; run `idmflow init` to create or upgrade it")
    registry = registry or Registry.from_entry_points()
    if check_schema:
        lacking = invariants.missing(db, registry)
        if lacking:
            db.dispose()
            raise IdmflowError(f"the database {safe_url(url)} does not hold the invariants "
                               f"{', '.join(lacking)} that installed processes declare; run "
                               "`idmflow init` to create them")
    return Engine(
        db, registry=registry,
        directory=directory or SqlUserDirectory(db), accounts=accounts or SqlAccounts(db),
        notifier=notifier or SmtpNotifier(settings.smtp, sender=settings.mail_from),
        clock=clock or SystemClock(),
        producer=producer or SimulatedProducer(settings.production_failure_rate,
                                               seed=settings.production_seed),
        options=options)
