"""Directory search at a million users: every kind of page beside its raw-SQL floor.

Each database gets N demo users (`storage.demo.demo_user`'s names, states and org units,
written by one `INSERT ... SELECT` over a generated sequence, and their `user_keys` by a
second, in SQL, checked against `storage.directory.keys` on a sample), then fresh planner
statistics. Each case is timed as the engine runs it (`SqlUserDirectory.search` or
`count`, or the console's whole `user_search.search`: a page and its capped counts)
beside its floor: the same rows read by one hand-written SQL string through the driver
(`exec_driver_sql`), so the ratio is what the engine adds and the floor is the database's
own time. Medians of `--repeat` runs after one warm-up.

The budget (issue 14): every case at most 5 ms on SQLite and 10 ms on PostgreSQL, except
the exact count, which only the CLI's `--json` asks for. With `--compare` it also times
the other designs on the same users: SQLite FTS5 (prefix queries on an external-content
table) and PostgreSQL pg_trgm (a GIN index on the name keys), each asked for the same
first and last page in username order.

A million users are about 15 million key rows. The whole run took 14 minutes on a loaded
two-core machine, most of it seeding PostgreSQL's keys (7 minutes; SQLite's all in 2);
`--reuse URL` times the cases again on a database seeded before:

    python benchmarks/search.py [--users 1000000] [--databases sqlite,postgres] [--compare]
                                [--reuse URL] [--repeat 15]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from idmflow.console.web import user_search
from idmflow.engine import UserQuery
from idmflow.storage.database import connect
from idmflow.storage.demo import FIRST, LAST, ORG_UNITS, demo_user
from idmflow.storage.directory import SqlUserDirectory, keys

from databases import fresh

BUDGET_MS = {"sqlite": 5.0, "postgresql": 10.0}
_COLS = "u.username, u.display_name, u.email, u.org_unit, u.state"


def _sequence(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"seq(i) AS (SELECT generate_series(CAST(1 AS BIGINT), {n}))"
    return f"RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {n})"


_BASE = """base AS (
  SELECT seq.i, lower(substr(f.name, 1, 1) || l.name || CAST(seq.i AS TEXT)) AS username,
         f.name AS first, l.name AS last, o.name AS org_unit,
         (seq.i * 2654435761) % 1000 AS roll
  FROM seq JOIN bench_first f ON f.n = seq.i % {first}
           JOIN bench_last l ON l.n = (seq.i / {first}) % {last}
           JOIN bench_org o ON o.n = (seq.i * 7 + seq.i / 13) % {org})"""


def seed(db: Engine, n: int) -> dict[str, float]:
    """N demo users and their keys, by INSERT ... SELECT; seconds per step."""
    dialect = db.dialect.name
    base = _BASE.format(first=len(FIRST), last=len(LAST), org=len(ORG_UNITS))
    head = f"WITH {_sequence(dialect, n)}, {base}"
    if dialect == "postgresql":
        head = head.replace("%", "%%")  # the driver's placeholders
    took: dict[str, float] = {}
    with db.begin() as conn:
        for name, values in (("bench_first", FIRST), ("bench_last", LAST), ("bench_org", ORG_UNITS)):
            conn.exec_driver_sql(f"CREATE TABLE {name} (n INTEGER PRIMARY KEY, name TEXT)")
            conn.execute(text(f"INSERT INTO {name} VALUES (:n, :name)"),
                         [{"n": i, "name": v} for i, v in enumerate(values)])
        conn.exec_driver_sql("CREATE TABLE bench_nums (n INTEGER PRIMARY KEY)")
        conn.execute(text("INSERT INTO bench_nums VALUES (:n)"), [{"n": i} for i in range(1, 31)])
    start = time.perf_counter()
    with db.begin() as conn:
        conn.exec_driver_sql(f"{head} SELECT * INTO bench_base FROM base" if dialect == "postgresql"
                             else f"CREATE TABLE bench_base AS {head} SELECT * FROM base")
        conn.exec_driver_sql("""
INSERT INTO users (username, username_key, display_name, display_key, email, org_unit, state)
SELECT username, username, first || ' ' || last || ' ' || CAST(i AS TEXT),
       lower(first || ' ' || last || ' ' || CAST(i AS TEXT)), username || '@example.org',
       org_unit, CASE WHEN roll < 900 THEN 'active' WHEN roll < 960 THEN 'inactive'
                      ELSE 'locked' END
FROM bench_base ORDER BY username""")
        # a small org unit (one user in 2,000), where the org unit leads a name search
        conn.exec_driver_sql("UPDATE users SET org_unit = 'Audit' WHERE id % 2000 = 7"
                             .replace("%", "%%" if dialect == "postgresql" else "%"))
    took["users"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.begin() as conn:
        if dialect == "postgresql":  # one sorted index build, not 15 million inserts into it
            conn.exec_driver_sql("ALTER TABLE user_keys DROP CONSTRAINT user_keys_pkey")
        conn.exec_driver_sql("""WITH words(username, w) AS (
  SELECT username, username FROM bench_base UNION ALL SELECT username, lower(first) FROM bench_base
  UNION ALL SELECT username, lower(last) FROM bench_base
  UNION ALL SELECT username, CAST(i AS TEXT) FROM bench_base)
INSERT INTO user_keys (key, username)
SELECT DISTINCT substr(w, 1, bench_nums.n), username
FROM words JOIN bench_nums ON bench_nums.n <= length(w) ORDER BY 1, 2""")
        if dialect == "postgresql":
            conn.exec_driver_sql("ALTER TABLE user_keys ADD PRIMARY KEY (key, username)")
    took["keys"] = time.perf_counter() - start
    start = time.perf_counter()
    with db.begin() as conn:
        for name in ("bench_first", "bench_last", "bench_org", "bench_nums", "bench_base"):
            conn.exec_driver_sql(f"DROP TABLE {name}")
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # as autovacuum would leave it: PostgreSQL's index-only scans need the visibility map
        conn.exec_driver_sql("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE")
    took["vacuum/analyze"] = time.perf_counter() - start
    _check_seed(db, n)
    return took


def _check_seed(db: Engine, n: int) -> None:
    """The SQL seeding wrote what `demo_user` and `keys` would: else the numbers lie."""
    with db.connect() as conn:
        for i in random.Random(1).sample(range(1, n + 1), min(n, 50)):
            user = demo_user(i)
            row = conn.execute(text("SELECT username, display_name, org_unit, state FROM users "
                                    "WHERE username = :u"), {"u": user["username"]}).one()
            assert tuple(row) == (user["username"], user["display_name"],
                                  "Audit" if row.org_unit == "Audit" else user["org_unit"],
                                  user["state"]), (row, user)
            found = set(conn.execute(text("SELECT key FROM user_keys WHERE username = :u"),
                                     {"u": user["username"]}).scalars())
            assert found == keys(user["username"], user["display_name"]), user["username"]


def _median_ms(run: Callable[[], Any], repeat: int) -> float:
    run()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _raw(db: Engine, sql: str, params: dict[str, Any]) -> Callable[[], Any]:
    def run() -> Any:
        with db.connect() as conn:
            return conn.exec_driver_sql(sql, tuple(params.values()) if db.dialect.name == "sqlite"
                                        else params).all()
    return run


def _p(db: Engine, name: str) -> str:
    return "?" if db.dialect.name == "sqlite" else f"%({name})s"


def _last_after(db: Engine, directory: SqlUserDirectory, query: UserQuery) -> str | None:
    """The `after` of the last page of `query` (read untimed, from every match)."""
    names = list(directory.iter_usernames(query))
    return names[-51] if len(names) > 51 else None


def cases(db: Engine) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, the engine's call, the raw floor) for each kind of page."""
    directory = SqlUserDirectory(db)
    p = lambda name: _p(db, name)  # noqa: E731
    keyed = (f"SELECT {_COLS} FROM user_keys k JOIN users u ON u.username = k.username "
             f"WHERE k.key = {p('w')}")
    found: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = []

    def word_case(label: str, word: str, *, after: str | None = None) -> None:
        q = UserQuery(text=word, after=after, limit=51)
        sql = keyed + (f" AND k.username > {p('a')} AND u.username > {p('b')}" if after else "") + \
            " ORDER BY k.username LIMIT 51"
        params = {"w": word, **({"a": after, "b": after} if after else {})}
        found.append((label, lambda: directory.search(q), _raw(db, sql, params)))

    word_case("narrow: one user's number", "777777")
    word_case("broad: 'anna' first page", "anna")
    word_case("broadest: 'a' first page", "a")
    word_case("broad: 'anna' last page", "anna",
              after=_last_after(db, directory, UserQuery(text="anna", limit=None)))
    word_case("broadest: 'a' last page", "a",
              after=_last_after(db, directory, UserQuery(text="a", limit=None)))
    two = UserQuery(text="anna b", limit=51)
    found.append(("two words: 'anna b'", lambda: directory.search(two), _raw(
        db, keyed + f" AND EXISTS (SELECT 1 FROM user_keys k2 WHERE k2.key = {p('v')} AND "
        "k2.username = k.username) ORDER BY k.username LIMIT 51", {"w": "anna", "v": "b"})))
    hr = UserQuery(text="berg", org_unit="hr", state="active", limit=51)
    # the engine first counts the org unit's users up to 2,000 (to choose what leads)
    found.append(("'berg', org unit 'hr', active", lambda: directory.search(hr), _raw(
        db, keyed + f" AND lower(u.org_unit) || '' = lower({p('o')}) AND u.state || '' = {p('s')} "
        "ORDER BY k.username LIMIT 51", {"w": "berg", "o": "hr", "s": "active"})))
    audit = UserQuery(text="a", org_unit="audit", limit=51)
    found.append(("'a', org unit 'audit' (1 user in 2,000)", lambda: directory.search(audit), _raw(
        db, f"SELECT {_COLS} FROM users u WHERE lower(u.org_unit) = lower({p('o')}) AND EXISTS "
        f"(SELECT 1 FROM user_keys k WHERE k.key = {p('w')} AND k.username = u.username) "
        "ORDER BY u.username LIMIT 51", {"o": "audit", "w": "a"})))
    org_sql = (f"SELECT {_COLS} FROM users u WHERE lower(u.org_unit) = lower({p('o')}) "
               f"AND u.state = {p('s')}")
    for label, after in (("first", None), ("last", _last_after(
            db, directory, UserQuery(org_unit="sales", state="locked", limit=None)))):
        q = UserQuery(org_unit="sales", state="locked", after=after, limit=51)
        sql = org_sql + (f" AND u.username > {p('a')}" if after else "") + \
            " ORDER BY u.username LIMIT 51"
        params = {"o": "sales", "s": "locked", **({"a": after} if after else {})}
        found.append((f"org unit 'sales', locked, {label} page",
                      (lambda q=q: directory.search(q)), _raw(db, sql, params)))
    org_only = UserQuery(org_unit="SALES", limit=51)
    found.append(("org unit 'SALES' alone", lambda: directory.search(org_only), _raw(
        db, f"SELECT {_COLS} FROM users u WHERE lower(u.org_unit) = lower({p('o')}) "
        "ORDER BY u.username LIMIT 51", {"o": "SALES"})))
    capped = UserQuery(text="a", limit=None)
    found.append(("count of 'a', capped at 1,001",
                  lambda: directory.count(capped, at_most=1001), _raw(
                      db, "SELECT count(*) FROM (SELECT 1 FROM user_keys k JOIN users u ON "
                      f"u.username = k.username WHERE k.key = {p('w')} LIMIT 1001) AS c",
                      {"w": "a"})))
    for label, f in (("'a' + org unit 'sales'", user_search.Filters(text="a", org_unit="sales")),
                     ("'a' + 'sales' + locked", user_search.Filters(text="a", org_unit="sales",
                                                                     state="locked"))):
        found.append((f"console page: {label}", (lambda f=f: user_search.search(directory, f)),
                      _raw(db, f"SELECT {_COLS} FROM users u WHERE lower(u.org_unit) = "
                           f"lower({p('o')}) AND EXISTS (SELECT 1 FROM user_keys k WHERE "
                           f"k.key = {p('w')} AND k.username = u.username) "
                           "ORDER BY u.username LIMIT 51", {"o": f.org_unit, "w": "a"})))
    filters = user_search.Filters(text="anna")
    page = _raw(db, keyed + " ORDER BY k.username LIMIT 51", {"w": "anna"})
    active = _raw(db, "SELECT count(*) FROM (SELECT 1 FROM user_keys k JOIN users u ON "
                  f"u.username = k.username WHERE k.key = {p('w')} AND u.state = {p('s')} "
                  "LIMIT 1001) AS c", {"w": "anna", "s": "active"})
    found.append(("console page: 'anna', page 1 + its count",
                  lambda: user_search.search(directory, filters), lambda: (page(), active())))
    return found


def exact_count(db: Engine, repeat: int) -> tuple[float, float]:
    directory = SqlUserDirectory(db)
    q = UserQuery(text="a", limit=None)
    raw = _raw(db, "SELECT count(*) FROM user_keys k JOIN users u ON u.username = k.username "
               f"WHERE k.key = {_p(db, 'w')}", {"w": "a"})
    return _median_ms(lambda: directory.count(q), repeat), _median_ms(raw, repeat)


def compare(db: Engine, repeat: int) -> list[tuple[str, float]]:
    """The other designs, asked for the same pages in username order."""
    dialect = db.dialect.name
    out = []
    start = time.perf_counter()
    with db.begin() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql("CREATE VIRTUAL TABLE bench_fts USING fts5("
                                 "username, display_name, content='users', content_rowid='id', "
                                 "prefix='1 2 3')")
            conn.exec_driver_sql("INSERT INTO bench_fts(bench_fts) VALUES ('rebuild')")
        else:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            conn.exec_driver_sql("CREATE INDEX bench_trgm ON users USING gin "
                                 "(display_key gin_trgm_ops, username_key gin_trgm_ops)")
            conn.exec_driver_sql("ANALYZE users")
    out.append(("build the index (s)", time.perf_counter() - start))
    directory = SqlUserDirectory(db)
    last = _last_after(db, directory, UserQuery(text="anna", limit=None)) or ""
    for label, word, after in (("'anna' first page", "anna", ""), ("'anna' last page", "anna", last),
                               ("'a' first page", "a", "")):
        if dialect == "sqlite":
            sql = (f"SELECT {_COLS} FROM bench_fts f JOIN users u ON u.id = f.rowid "
                   "WHERE bench_fts MATCH ? AND u.username > ? ORDER BY u.username LIMIT 51")
            params: dict[str, Any] = {"m": f'"{word}"*', "a": after}
        else:
            # words start a name or follow a space: the pattern, the index answers the LIKE
            sql = (f"SELECT {_COLS} FROM users u WHERE (u.display_key LIKE %(p1)s OR "
                   "u.display_key LIKE %(p2)s OR u.username_key LIKE %(p1)s) "
                   "AND u.username > %(a)s ORDER BY u.username LIMIT 51")
            params = {"p1": f"{word}%", "p2": f"% {word}%", "a": after}
        out.append((label, _median_ms(_raw(db, sql, params), repeat)))
    with db.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_fts" if dialect == "sqlite"
                             else "DROP INDEX bench_trgm")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--reuse", metavar="URL",
                        help="time the cases on this database seeded by an earlier run")
    parser.add_argument("--compare", action="store_true",
                        help="also time SQLite FTS5 and PostgreSQL pg_trgm on the same pages")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for database in [args.reuse] if args.reuse else args.databases.split(","):
            if args.reuse:
                db = connect(args.reuse)
                with db.connect() as conn:
                    n = conn.exec_driver_sql("SELECT count(*) FROM users").scalar_one()
                print(f"\n{db.dialect.name}, {n:,} users (seeded before)")
            else:
                db = connect(fresh(database, folder))
                took = seed(db, args.users)
                print(f"\n{database}, {args.users:,} users: seeded in "
                      + ", ".join(f"{k} {v:.1f} s" for k, v in took.items()))
            budget = BUDGET_MS[db.dialect.name]
            print(f"{'case':44} {'engine ms':>10} {'floor ms':>10} {'ratio':>6}  budget {budget:g} ms")
            worst = 0.0
            for label, engine_call, floor in cases(db):
                mine = _median_ms(engine_call, args.repeat)
                base = _median_ms(floor, args.repeat)
                worst = max(worst, mine)
                flag = "" if mine <= budget else "  OVER"
                print(f"{label:44} {mine:10.2f} {base:10.2f} {mine / base:6.2f}{flag}")
            mine, base = exact_count(db, max(3, args.repeat // 5))
            print(f"{'exact count of a (CLI --json only)':44} {mine:10.2f} {base:10.2f} "
                  f"{mine / base:6.2f}  (no budget)")
            print(f"slowest page case: {worst:.2f} ms ({'within' if worst <= budget else 'OVER'} "
                  "budget)")
            if args.compare:
                print("other designs (raw SQL, ms):")
                for label, ms in compare(db, args.repeat):
                    print(f"  {label:42} {ms:10.2f}")
            db.dispose()


if __name__ == "__main__":
    main()
