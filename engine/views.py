"""Rendering a step's view: the Jinja2 template its process ships, autoescaped.

The engine renders the step for any host; the console wraps the result in its layout.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2 import Environment

from .definitions import ProcessDefinition
from .errors import NotFound
from .instances import InstanceView


@lru_cache(maxsize=None)
def _environment(folder: str) -> Environment:
    # Jinja2 loads with the first page or mail, not with every command.
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(default=True),
                       undefined=StrictUndefined)


def render_step(definition: ProcessDefinition, instance: InstanceView, **context: Any) -> Markup:
    """The HTML of the step `instance` is in, from its process's template."""
    step = next((s for s in definition.steps if s.name == instance.state), None)
    if step is None or not step.view or definition.templates is None:
        raise NotFound(f"process {definition.name!r} has no view for step {instance.state!r}")
    template = _environment(str(definition.templates)).get_template(step.view)
    return Markup(template.render(instance=instance, definition=definition, step=step, **context))


def render_mail(definition: ProcessDefinition, name: str, **context: Any
                ) -> tuple[str, str | None]:
    """A mail's text and HTML from `mail/NAME.txt` and `mail/NAME.html` of the process.

    The HTML part is optional; the text part is rendered without autoescaping.
    """
    root = definition.mail_templates or definition.templates
    if root is None:
        raise NotFound(f"process {definition.name!r} has no templates folder for mail {name!r}")
    folder = str(root)
    html_env = _environment(folder)
    text_env = _text_environment(folder)
    from jinja2 import TemplateNotFound

    text = text_env.get_template(f"mail/{name}.txt").render(**context)
    try:
        html: str | None = html_env.get_template(f"mail/{name}.html").render(**context)
    except TemplateNotFound:
        html = None
    return text, html


@lru_cache(maxsize=None)
def _text_environment(folder: str) -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(loader=FileSystemLoader(folder), autoescape=False,
                       undefined=StrictUndefined, keep_trailing_newline=True)
