"""The operator's user search page counts: capped for people, one count where it can."""

from __future__ import annotations

from sqlalchemy import func, select, update

from idmflow.console.web.user_search import Filters, search
from idmflow.storage.database import connect
from idmflow.storage.demo import seed_users
from idmflow.storage.directory import SqlUserDirectory
from idmflow.storage.models import users


def test_counts_stop_at_the_cap_and_small_ones_are_exact(db_url: str) -> None:
    db = connect(db_url)
    seed_users(db, 1200)
    with db.begin() as conn:
        conn.execute(update(users).values(org_unit="Big"))
        locked = conn.execute(select(func.count()).select_from(users)
                              .where(users.c.state == "locked")).scalar_one()
    directory = SqlUserDirectory(db)
    page = search(directory, Filters(org_unit="big"))
    assert len(page.users) == 50 and page.next_after == page.users[-1].username
    assert page.total_text == "more than 1,000" and page.all_matching_text == "more than 1,000"
    page = search(directory, Filters(org_unit="BIG", state="locked"))
    assert page.total == locked and page.total_text == f"{locked:,}" and page.all_matching is None
    assert directory.count(Filters(org_unit="big").query(limit=None)) == 1200  # exact: the CLI's
    one = search(directory, Filters(text="Anna Berg 320"))  # one page holds every match
    assert [u.display_name for u in one.users] == ["Anna Berg 320"] and one.total == 1
    assert one.all_matching == (1 if one.users[0].state == "active" else 0)
    db.dispose()
