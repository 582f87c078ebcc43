"""The benchmarks' databases: a SQLite file in a folder, or PostgreSQL's `idmflow_bench`
(never the tests' database), emptied and given the engine's schema."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text

PG_URL = os.environ.get("IDMFLOW_BENCH_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/idmflow_bench")


def fresh(database: str, folder: str) -> str:
    """The URL of an empty `database` ("sqlite" or "postgres") with idmflow's schema."""
    from idmflow.engine import upgrade_schema
    from idmflow.storage.database import connect

    if database == "sqlite":
        url = f"sqlite:///{folder}/bench.db"
        if os.path.exists(url.removeprefix("sqlite:///")):
            os.remove(url.removeprefix("sqlite:///"))
    elif database == "postgres":
        url = PG_URL
        server = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            name = url.rsplit("/", 1)[1]
            if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                {"n": name}).first():
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        server.dispose()
        db = create_engine(url)
        with db.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.dispose()
    else:
        raise SystemExit(f"unknown database {database!r}: use sqlite or postgres")
    db = connect(url)
    upgrade_schema(db)  # the engine's own schema, with the declared invariants' indexes
    db.dispose()
    return url
