"""The `assets` blueprint: the console's stylesheet, scripts and vendored mermaid.

Served from the package (no CDN, nothing from elsewhere), under a path of their own so a
host app's `/static` stays the host's.
"""

from __future__ import annotations

from flask import Blueprint

assets = Blueprint("assets", __name__, static_folder="static",
                   static_url_path="/console-static")
