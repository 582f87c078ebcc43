"""A bad configuration value is one line naming the variable, the value and what is allowed.

Every variable is read and checked by `idmflow.engine.config` when a command opens the
engine, before anything connects: exit 1, no traceback, nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from idmflow.console.cli import main
from idmflow.engine import IdmflowError
from idmflow.engine.config import from_environment

BAD = [
    ("IDMFLOW_PRODUCTION_FAILURE_RATE", "abc", "a number from 0.0"),
    ("IDMFLOW_PRODUCTION_FAILURE_RATE", "1.5", "a number from 0.0"),
    ("IDMFLOW_PRODUCTION_FAILURE_RATE", "nan", "a number from 0.0"),
    ("IDMFLOW_PRODUCTION_SEED", "x1", "a whole number"),
    ("IDMFLOW_SMTP_URL", "http://mail.example.org", "must start with smtp:// or smtps://"),
    ("IDMFLOW_SMTP_URL", "smtp://mail.example.org:99999", "the port must be a number"),
    ("IDMFLOW_SMTP_URL", "smtp://mail.example.org:587?starttls=maybe", "starttls must be"),
    ("IDMFLOW_MAIL_FROM", "nobody", "an address such as idmflow@example.org"),
    ("IDMFLOW_DATABASE_URL", "not a url", "sqlite:///idmflow.db"),
]


@pytest.mark.parametrize("name, value, allowed", BAD)
def test_bad_value_is_one_line_and_nothing_is_written(name: str, value: str, allowed: str,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default SQLite file would land here
    result = CliRunner().invoke(main, ["init"], env={name: value})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {name}={value!r} is not allowed: ")
    assert allowed in result.stderr and result.stderr.count("\n") == 1
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


def test_a_password_in_a_bad_smtp_url_is_not_shown() -> None:
    with pytest.raises(IdmflowError) as caught:
        from_environment({"IDMFLOW_SMTP_URL": "http://mailer:s3cret@mail.example.org"})
    assert "s3cret" not in str(caught.value) and "mailer:***@" in str(caught.value)


def test_good_values_are_parsed_once_for_the_adapters() -> None:
    settings = from_environment({
        "IDMFLOW_SMTP_URL": "smtp://mailer:p%40ss@mail.example.org:587?starttls=yes",
        "IDMFLOW_MAIL_FROM": "IdM <idm@example.org>", "IDMFLOW_PRODUCTION_FAILURE_RATE": "0.25",
        "IDMFLOW_PRODUCTION_SEED": "7", "IDMFLOW_DATABASE_URL": ""})
    smtp = settings.smtp
    assert (smtp.host, smtp.port, smtp.starttls, smtp.tls, smtp.user, smtp.password) == (
        "mail.example.org", 587, True, False, "mailer", "p@ss")
    assert str(smtp) == "smtp://mailer:***@mail.example.org:587?starttls=1"
    assert settings.mail_from == "IdM <idm@example.org>"
    assert (settings.production_failure_rate, settings.production_seed) == (0.25, 7)
    assert settings.database_url == "sqlite:///idmflow.db"  # empty counts as unset
    assert from_environment({"IDMFLOW_SMTP_URL": "smtps://h"}).smtp.port == 465


def test_the_issues_example_has_no_traceback(demo_url: str) -> None:
    """`IDMFLOW_PRODUCTION_FAILURE_RATE=abc idmflow processes list`, as a person runs it."""
    env = {**os.environ, "IDMFLOW_PRODUCTION_FAILURE_RATE": "abc"}
    result = subprocess.run([str(Path(sys.executable).parent / "idmflow"), "--database-url",
                             demo_url, "processes", "list"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == ("error: IDMFLOW_PRODUCTION_FAILURE_RATE='abc' is not allowed: use "
                             "a number from 0.0 (no card fails) to 1.0 (every card fails)\n")
