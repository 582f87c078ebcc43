"""The password and account-name policy, for the CLI and the Accounts page alike.

A password has at least 12 characters, is not the account name (nor built on it) and is not
a common password: zxcvbn's list of 30,000 common passwords, and its estimate at least
"safely unguessable" (score 3), which also refuses keyboard walks and dates. zxcvbn is
loaded only when a password is set. Account names are letters, digits and `.`, `_`, `-`,
`@`, starting with a letter or digit, so "admin " (with a space) is never a second admin.
"""

from __future__ import annotations

import re

from idmflow.engine import InputError

MIN_LENGTH = 12
MAX_LENGTH = 200
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


def check_username(username: str) -> None:
    """Refuse a name with spaces around it, or with characters outside the allowed ones."""
    if username != username.strip():
        raise InputError(f"account name {username!r} has spaces around it; leave them out")
    if not _NAME.match(username):
        raise InputError(f"account name {username!r} is not allowed: use 1 to 100 letters, "
                         "digits, '.', '_', '-' or '@', starting with a letter or digit")


def password_problems(username: str, password: str) -> list[str]:
    """What is wrong with `password` for `username` (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"the password has {len(password)} characters; use at least "
                        f"{MIN_LENGTH} (a few words make a good one)")
    if len(password) > MAX_LENGTH:
        problems.append(f"the password is longer than {MAX_LENGTH} characters")
    if username and username.lower() in password.lower():
        problems.append("the password contains the account name; choose another")
    if problems:
        return problems
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    if password.lower() in FREQUENCY_LISTS["passwords"]:
        return ["the password is in a list of common passwords; choose another"]
    verdict = zxcvbn(password, user_inputs=[username])
    if verdict["score"] < 3:
        hint = verdict["feedback"].get("warning") or "it is easy to guess"
        problems.append(f"the password is too easy to guess ({hint.rstrip('.')}); add words "
                        "or characters")
    return problems


def check_password(username: str, password: str) -> None:
    """Refuse a password the policy does not allow, naming every problem."""
    problems = password_problems(username, password)
    if problems:
        raise InputError(problems)
