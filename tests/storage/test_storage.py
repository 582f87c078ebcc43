"""Storage on both databases: migrations, the directory's search, demo data."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from idmflow.engine import UserQuery
from idmflow.storage import schema
from idmflow.storage.database import connect, database_url, safe_url
from idmflow.storage.demo import demo_user, seed_users
from idmflow.storage.directory import SqlUserDirectory
from idmflow.storage.models import users


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    db = connect(db_url)
    assert schema.current(db) == schema.head()
    assert schema.upgrade(db) == (schema.head(), schema.head())
    tables = set(inspect(db).get_table_names())
    assert {"users", "accounts", "account_roles", "process_instances", "entities",
            "audit_events"} <= tables
    db.dispose()


def test_schema_head_without_alembic_is_alembics_head() -> None:
    """Commands check the schema without importing Alembic; upgrades use Alembic."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS))
    assert schema.head() == ScriptDirectory.from_config(config).get_current_head()


def test_directory_search_filters_pages_and_counts(db_url: str) -> None:
    db = connect(db_url)
    assert seed_users(db, 500) == 500
    assert seed_users(db, 500) == 0
    directory = SqlUserDirectory(db)
    everyone = [demo_user(i) for i in range(1, 501)]
    hr_active = sorted(u["username"] for u in everyone
                       if u["org_unit"] == "HR" and u["state"] == "active")
    query = UserQuery(org_unit="HR", state="active", limit=7)
    pages: list[str] = []
    after = None
    while True:
        page = directory.search(UserQuery(org_unit="HR", state="active", limit=7, after=after))
        pages += [u.username for u in page]
        if len(page) < 7:
            break
        after = page[-1].username
    assert pages == hr_active
    assert directory.count(query) == len(hr_active)
    assert list(directory.iter_usernames(UserQuery(org_unit="HR", state="active"))) == hr_active
    by_prefix = directory.search(UserQuery(text="KARIN", limit=None))
    assert by_prefix and all(u.display_name.startswith("Karin") for u in by_prefix)
    assert directory.get_many(["nobody", everyone[0]["username"]]).keys() == {
        everyone[0]["username"]}
    db.dispose()


@pytest.mark.parametrize("text", ["%", "_", "'; DROP TABLE users; --", "\\"])
def test_search_text_is_bound_never_formatted(db_url: str, text: str) -> None:
    db = connect(db_url)
    seed_users(db, 50)
    assert SqlUserDirectory(db).search(UserQuery(text=text)) == []
    assert SqlUserDirectory(db).count(UserQuery()) == 50
    db.dispose()


def test_demo_users_are_deterministic_and_mostly_active() -> None:
    users = [demo_user(i) for i in range(1, 10_001)]
    assert users == [demo_user(i) for i in range(1, 10_001)]
    active = sum(u["state"] == "active" for u in users) / len(users)
    assert 0.85 < active < 0.95
    assert {u["state"] for u in users} == {"active", "inactive", "locked"}
    assert len({u["org_unit"] for u in users}) >= 5
    assert len({u["username"] for u in users}) == len(users)


def test_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDMFLOW_DATABASE_URL", "postgresql://u:p@h/d")
    assert database_url() == "sqlite:///idmflow.db"  # the environment is config's to read
    assert database_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert safe_url("postgresql+psycopg://u:secret@h/d") == "postgresql+psycopg://u:***@h/d"


def test_search_by_any_word_of_username_or_name(db_url: str) -> None:
    db = connect(db_url)
    seed_users(db, 400)
    directory = SqlUserDirectory(db)
    anna = next(demo_user(i) for i in range(1, 401) if demo_user(i)["display_name"].startswith("Anna Berg"))
    number = anna["display_name"].rsplit(" ", 1)[1]
    for text in ("berg", f"Berg {number}", "anna b", f"{number} ANNA", anna["username"].upper()):
        found = [u.username for u in directory.search(UserQuery(text=text, limit=None))]
        assert anna["username"] in found, text
    everyone = [demo_user(i) for i in range(1, 401)]
    bergs = sorted(u["username"] for u in everyone if " Berg " in u["display_name"])
    assert [u.username for u in directory.search(UserQuery(text="BERG", limit=None))] == bergs
    assert directory.count(UserQuery(text="berg")) == len(bergs)
    assert directory.count(UserQuery(text="berg"), at_most=3) == 3
    assert directory.search(UserQuery(text="erg")) == []  # a word's start, not its middle
    assert directory.search(UserQuery(text="anna zzz")) == []  # every word must match
    assert directory.search(UserQuery(text=" .-/ ")) == []  # no word: nobody, not everybody
    hr = sorted(u["username"] for u in everyone if u["org_unit"] == "HR")
    assert list(directory.iter_usernames(UserQuery(org_unit="hr"))) == hr
    page = directory.search(UserQuery(text="a", after=bergs[0], limit=5))
    assert len(page) == 5 and all(u.username > bergs[0] for u in page)
    db.dispose()


def test_upgrade_writes_the_search_keys_of_users_already_there(db_url: str) -> None:
    """A database from before word search finds its users by any word after the upgrade."""
    from alembic import command

    db = connect(db_url)
    with db.begin() as conn:
        config = schema._config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    with db.begin() as conn:
        conn.execute(users.insert(), [{k: v for k, v in demo_user(i).items()} for i in (1, 2)])
    schema.upgrade(db)
    found = SqlUserDirectory(db).search(UserQuery(text=demo_user(2)["display_name"].split()[1]))
    assert demo_user(2)["username"] in [u.username for u in found]
    db.dispose()


def test_a_large_write_refreshes_the_planner_statistics(db_url: str) -> None:
    import datetime as dt

    from idmflow.storage import statistics
    from idmflow.storage.database import write_transaction
    from idmflow.storage.entities import insert_many

    db = connect(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    row = {"kind": "card", "type": "employee", "state": "approved", "instance_id": None,
           "created_by": "test", "created_at": now, "updated_at": now}
    with write_transaction(db) as conn:
        insert_many(conn, [{**row, "subject": f"u{i}"} for i in range(100)])
        small = statistics.analyzed_rows(conn, "entities")
        insert_many(conn, [{**row, "subject": f"v{i}"} for i in range(statistics.LARGE)])
        rows = statistics.analyzed_rows(conn, "entities")  # SQLite's is an estimate
        assert rows is not None and abs(rows - (statistics.LARGE + 100)) < statistics.LARGE / 10
        assert not statistics.after_write(conn, "entities", statistics.LARGE - 1)
    assert small in (None, 0)  # a small write leaves them as `init` made them
    db.dispose()
