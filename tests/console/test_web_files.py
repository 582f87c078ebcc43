"""Files: a new SQLite database and the secret-key file are created 0600; a key file that
others may read, or that someone else owns, is refused with how to fix it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import idmflow.engine as idm
from idmflow.console.cli import main
from idmflow.console.web import create_app

#: the key file sits next to a SQLite database; PostgreSQL's is the same code
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_a_new_sqlite_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "fresh.db"
    old = os.umask(0o022)
    try:
        result = CliRunner().invoke(main, ["--database-url", f"sqlite:///{path}", "init"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    for file in [path, *tmp_path.glob("fresh.db-*")]:
        assert file.stat().st_mode & 0o777 == 0o600, file


def key_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///") + ".secret-key")


@sqlite_only
def test_a_key_file_others_may_read_is_refused(console_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDMFLOW_SECRET_KEY", raising=False)
    engine = idm.open(console_url)
    try:
        create_app(engine)
        key = key_path(console_url)
        assert key.stat().st_mode & 0o777 == 0o600
        key.chmod(0o644)
        with pytest.raises(idm.IdmflowError, match=rf"may be read by others \(mode 0644\); "
                                                   rf"run `chmod 600 {key}`"):
            create_app(engine)
        result = CliRunner().invoke(main, ["--database-url", console_url, "serve", "--port",
                                           "0", "--no-worker"])
        assert result.exit_code == 1 and "chmod 600" in result.output
        assert "Traceback" not in result.output
        key.chmod(0o600)
        assert create_app(engine).secret_key
    finally:
        engine.close()


@sqlite_only
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="giving a file to another user needs root")
def test_a_key_file_of_another_owner_is_refused(console_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDMFLOW_SECRET_KEY", raising=False)
    key = key_path(console_url)
    key.write_text("planted-by-someone-else\n", encoding="ascii")
    key.chmod(0o600)
    os.chown(key, 12345, 12345)
    engine = idm.open(console_url)
    try:
        with pytest.raises(idm.IdmflowError, match="belongs to another user"):
            create_app(engine)
    finally:
        engine.close()
