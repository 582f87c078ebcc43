"""Whether a login's time tells which account names exist: a wrong password for an existing
account beside an unknown name, through `SqlAccounts.authenticate` (the console's login).

Both should cost one hash check of the stored hashes' method (werkzeug's scrypt by default),
so the ratio of the medians should be close to 1.0; before the dummy check an unknown name
answered in a few milliseconds against a third of a second. The floor is one
`check_password_hash` of the stored hash, done directly.

    python benchmarks/login_timing.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from werkzeug.security import check_password_hash

import idmflow.engine as idm
from idmflow.storage.accounts import SqlAccounts, create_account
from idmflow.storage.database import connect, write_transaction


def _median(rounds: int, call: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as folder:
        db = connect(f"sqlite:///{Path(folder) / 'timing.db'}")
        idm.upgrade_schema(db)
        with write_transaction(db) as conn:
            create_account(conn, "operator", email="o@example.org",
                           password="a long passphrase here", roles=["operator"],
                           now=dt.datetime.now(dt.timezone.utc))
        accounts = SqlAccounts(db)
        accounts.authenticate("warm-up", "x")  # the dummy hash is made once, not timed
        with db.connect() as conn:
            stored = conn.exec_driver_sql("SELECT password_hash FROM accounts").scalar_one()
        floor = _median(rounds, lambda: check_password_hash(stored, "wrong"))
        known = _median(rounds, lambda: accounts.authenticate("operator", "wrong"))
        unknown = _median(rounds, lambda: accounts.authenticate("nobody", "wrong"))
        db.dispose()
    print(f"floor: one check_password_hash      {floor * 1000:8.1f} ms")
    print(f"existing account, wrong password    {known * 1000:8.1f} ms  "
          f"(ratio to floor {known / floor:.2f})")
    print(f"unknown account name                {unknown * 1000:8.1f} ms  "
          f"(ratio to floor {unknown / floor:.2f})")
    print(f"unknown / existing                  {unknown / known:8.2f}")


if __name__ == "__main__":
    main()
