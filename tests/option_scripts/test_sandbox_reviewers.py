"""Reviewers see what runs: look-alike names refused, hidden characters shown escaped, and
lines split where the parser splits them."""

from __future__ import annotations

import pytest

from idmflow.option_scripts import Evaluation, OptionSchema, Problem, check
from idmflow.option_scripts.visible import hidden_characters, source_lines, visible

OPTIONS = (OptionSchema("CardsBatchRequestApproval", bool, False),
           OptionSchema("CardsApproverRole", str, "approver"))


def _evaluation(name: str) -> Evaluation:
    return Evaluation({name: True}, {}, {name: 4}, ())


# four Cyrillic letters (а, а, А, а) in the option's name: the typo check saw 4 edits
FAKE = "C\u0430rdsB\u0430tchRequest\u0410pprov\u0430l"


def test_a_confusable_look_alike_of_an_option_is_refused_naming_it() -> None:
    assert check(_evaluation(FAKE), OPTIONS) == (Problem(
        4, "line 4: 'C\\u0430rdsB\\u0430tchRequest\\u0410pprov\\u0430l' looks like the option "
           "'CardsBatchRequestApproval' but is spelt with look-alike characters (U+0430 "
           "CYRILLIC SMALL LETTER A, U+0410 CYRILLIC CAPITAL LETTER A); type the option's "
           "name in plain letters"),)


@pytest.mark.parametrize("name", ["Größe", "Cardsß", "\u0441\u0447\u0451\u0442"])
def test_other_non_ascii_names_stay_allowed(name: str) -> None:
    assert check(_evaluation(name), OPTIONS) == ()


@pytest.mark.parametrize("text, shown", [
    ("a\x1b[2Jb", "a\\x1b[2Jb"),
    ("\x1b]52;c;ZWNobyBoaQ==\x07", "\\x1b]52;c;ZWNobyBoaQ==\\x07"),
    ("x = 'abc\u202e'", "x = 'abc\\u202e'"),
    ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
    ("c1 \x9b 31m", "c1 \\x9b 31m"),
    ("tab\tand\nnewline", "tab\tand\nnewline"),
    ("Größe = 3", "Größe = 3"),
])
def test_visible_escapes_what_does_not_show_as_itself(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_lines_split_as_the_parser_splits_them() -> None:
    source = "A = 1 # \x0cB = 2\r\nC = 3\rD = 4\u2028E\n"
    assert source_lines(source) == ["A = 1 # \x0cB = 2", "C = 3", "D = 4\u2028E"]
    assert source.splitlines() != source_lines(source)
    assert hidden_characters(source) == [(1, "\\x0c"), (3, "\\u2028")]
