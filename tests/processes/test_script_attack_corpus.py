"""The sandbox's attack corpus in the three forms an admin can use it: free (`scripts eval`),
named (checked against CardsScriptOptions) and saved (stored on SQLite and PostgreSQL).

Each is refused with an `OptionScriptError`, or accepted with values that hold nothing of
the host; nothing is stored for a refused one, and the host goes on.
"""

from __future__ import annotations

from typing import Any

import idmflow.engine as idm
from idmflow.engine import OptionScriptError
from idmflow.processes.cards.options import DEFAULT_SCRIPT, SCRIPT

from ..option_scripts.test_sandbox_attacks import ATTACKS, LEAKS
from ..option_scripts.test_sandbox_review import GUARDS, LEAKING, NOT_STRICT

CORPUS = [source for source, *_ in ATTACKS + NOT_STRICT] + LEAKING
DEFAULT = DEFAULT_SCRIPT.read_text()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return ["".join(chr(v) for v in value if isinstance(v, int) and 0 <= v < 0x110000)] + \
            [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    return []


def _clean(texts: list[str], source: str) -> None:
    """No leak in `texts`, except what the script wrote itself (a name it used)."""
    for text in texts:
        assert not any(leak in text and leak not in source for leak in LEAKS + GUARDS), text


def test_no_attack_escapes_in_any_form(engine: idm.Engine) -> None:
    engine.scripts.install_defaults()
    versions = 1
    for source in CORPUS:
        for name in (None, SCRIPT):
            try:
                evaluation = engine.scripts.evaluate(source, name=name)
            except OptionScriptError as exc:
                _clean([str(exc), *exc.problems], source)
            else:
                _clean(_strings(evaluation.values), source)
        try:
            saved = engine.scripts.save(SCRIPT, DEFAULT + source + "\n", author="admin")
        except OptionScriptError as exc:
            _clean([str(exc), *exc.problems], source)
        else:
            versions += 1
            _clean(_strings(dict(engine.scripts.show(SCRIPT, saved.version).values)), source)
    assert len(engine.scripts.history(SCRIPT)) == versions
    assert engine.scripts.evaluate("after = 1").values == {"after": 1}
