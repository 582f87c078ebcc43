"""The web console: operators' batch orders and admins' option scripts, as a Flask app.

`create_app()` builds the app `idmflow serve` runs; a host product mounts the same pages on
its own Flask app with `install(app, engine)`. Pages are server-rendered Jinja2 with
autoescape; each process step shows the process's own template inside the console's layout.
"""

from .app import BLUEPRINTS, create_app, install

__all__ = ["BLUEPRINTS", "create_app", "install"]
