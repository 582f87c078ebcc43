"""Planner statistics kept fresh after large writes, cheaply.

Both planners choose indexes from statistics gathered by ANALYZE. Statistics from an empty
table (right after `idmflow init` or `demo`) made a card page of a 600,000-card database
scan instead of seek (72 ms against 0.1 ms). So a write that changes a fifth of a table or
more, and at least `LARGE` rows, refreshes that table's statistics in the same transaction:
PostgreSQL's ANALYZE samples 30,000 rows whatever the table's size (a few hundred ms at a
million rows), SQLite's is bounded by `PRAGMA analysis_limit` (a few ms).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

LARGE = 10_000
_SHARE = 0.2
_SQLITE_ROWS = 1000  # rows SQLite's ANALYZE reads per index: approximate, and quick


def analyzed_rows(conn: Connection, table: str) -> int | None:
    """How many rows the table had when its statistics were gathered (None: never)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"),
                            {"t": table}).scalar()
        return None if rows is None or rows < 0 else int(rows)
    if not conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
        return None
    stat = conn.execute(text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t LIMIT 1"),
                        {"t": table}).scalar()
    return int(str(stat).split()[0]) if stat else None


def after_write(conn: Connection, table: str, changed: int) -> bool:
    """Refresh `table`'s statistics when `changed` rows are a large share of it; returns
    whether it did."""
    if changed < LARGE:
        return False
    before = analyzed_rows(conn, table)
    if before is not None and changed < _SHARE * before:
        return False
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table}")
    else:
        conn.exec_driver_sql(f"PRAGMA analysis_limit={_SQLITE_ROWS}")
        conn.exec_driver_sql(f"ANALYZE {table}")
        conn.exec_driver_sql("PRAGMA analysis_limit=0")
    return True
