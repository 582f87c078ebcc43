"""Mermaid text as the engine writes it, made ready for the mermaid build the console ships.

`transitions` writes the diagram's title as bare front matter (`---`, the title, `---`),
which mermaid ignores because it is not YAML `title: ...`, and assigns styles with
`Class NAME STYLE`, where mermaid's keyword is `class`. Both are fixed here, in the console
only, so the engine keeps writing what `transitions` gives it.
"""

from __future__ import annotations

import json
import re

_CLASS = re.compile(r"^(\s*)Class\s", re.MULTILINE)


def for_mermaid(text: str) -> str:
    """`text` with a YAML title and `class` statements mermaid understands."""
    lines = text.split("\n")
    if len(lines) > 2 and lines[0] == "---" and "---" in lines[2:]:
        end = lines.index("---", 2)
        head = [line for line in lines[1:end] if line.strip()]
        if len(head) == 1 and not re.match(r"^\s*\w+\s*:", head[0]):
            lines[1:end] = ["title: " + json.dumps(head[0].strip())]
    return _CLASS.sub(r"\1class ", "\n".join(lines))
