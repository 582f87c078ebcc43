"""The key that signs session cookies: given, from the environment, or kept in a file.

Sessions must survive a restart, so a generated key is stored, not kept in memory:

1. `IDMFLOW_SECRET_KEY`, when set, wins (use it when several console processes or machines
   serve one database: they must share the key).
2. With a SQLite file database: `<database file>.secret-key` next to it, created with mode
   0600 on first use. Whoever can read the database can read the key, and nobody else.
3. Otherwise (PostgreSQL): `idmflow.secret-key` in the current folder, created likewise.

The database itself was not used: the key would then be readable by everyone who may query
the tables, and it would need a table of its own in the schema.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from idmflow.engine.config import from_environment
from idmflow.engine.errors import IdmflowError

FILE_SUFFIX = ".secret-key"
FALLBACK_FILE = "idmflow.secret-key"


def key_file(url: str) -> Path:
    """Where the generated key of the database at `url` is kept."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(str(parsed.database))
        return database.with_name(database.name + FILE_SUFFIX)
    return Path(FALLBACK_FILE)


def _check_file(path: Path) -> None:
    """Refuse a key file others may read or write, or that someone else owns.

    Whoever planted or read the key could sign the console's CSRF tokens and notices.
    """
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise IdmflowError(f"the secret-key file {path} belongs to another user (uid "
                           f"{info.st_uid}); someone else may have written it. Delete it (a "
                           "new one is made) or set IDMFLOW_SECRET_KEY")
    if info.st_mode & 0o077:
        raise IdmflowError(f"the secret-key file {path} may be read by others (mode "
                           f"{info.st_mode & 0o777:04o}); run `chmod 600 {path}`, or delete "
                           "it if others may have read it (a new one is made)")


def read_or_create(path: Path) -> str:
    """The key stored at `path`; a new random one, written with mode 0600, when none is.

    Raises:
        IdmflowError: the file exists but others may read it or it is someone else's.
    """
    try:
        _check_file(path)
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    key = secrets.token_urlsafe(48)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process is creating it: use theirs once written
        for _ in range(50):
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} exists but is empty; delete it and start again") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    return key


def secret_key(url: str) -> str:
    """The session key for a console over the database at `url` (see the module's order)."""
    return from_environment().secret_key or read_or_create(key_file(url))
