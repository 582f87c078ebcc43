"""How a script's text is shown to the people who review it: as the parser reads it.

A reviewer must see what will run. Two things get in the way: characters a terminal or a
browser does not show as themselves (ESC and OSC sequences that rewrite a terminal or its
clipboard, bidi overrides that reorder a line, zero-width characters), and line breaks that
Python does not count as line breaks (`str.splitlines()` also splits at \\x0c, \\x1c or
\\u2028, so a diff could show `CardsRequestApproval = True` as unchanged while the stored
line goes on to set it False). `visible` escapes the first; `source_lines` splits lines
exactly where the tokenizer does.
"""

from __future__ import annotations

import re

#: C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates
#: and marks, zero-width characters, line and paragraph separators, the BOM
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                     "\u2060-\u2069\ufeff]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every hidden or reordering character written as its escape (\\x1b,
    \\u202e); tabs and newlines stay as they are."""
    return _HIDDEN.sub(_escape, text)


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """(line, escape) for each hidden character of `text`, lines counted as the parser does."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(source_lines(text), 1):
        found.extend((number, _escape(m)) for m in _HIDDEN.finditer(line))
    return found


def source_lines(source: str) -> list[str]:
    """The lines of `source` as Python's tokenizer sees them: split at \\n, \\r\\n and \\r
    only (a trailing line break ends the last line; it starts no new one)."""
    lines = _LINE_BREAK.split(source)
    if lines and lines[-1] == "":
        lines.pop()
    return lines
