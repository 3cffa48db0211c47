"""Jinja2 templates shipped with zamio, each of which a society may replace with its own.

A stage ships its templates in a folder of its package (``zamio/royalties/statements/templates``);
``TEMPLATES_DIR`` names a folder of the society's own: a file there with a shipped template's name
is used instead of it, and may extend the shipped one (``{% extends "shipped/statement.html.j2" %}``)
to change one block only.  HTML and XML templates are escaped automatically (a name or a title
never becomes markup); a name a template does not know is an error, never an empty string.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from zamio.runtime.errors import ConfigError

SHIPPED_PREFIX = "shipped"  # ``shipped/<name>`` is always the shipped template, even where an override exists
ESCAPED = ("html", "htm", "xml", "html.j2", "htm.j2", "xml.j2")
TEXT = ("txt", "txt.j2", "csv", "csv.j2")


class TemplateProblem(ConfigError):
    """A template of TEMPLATES_DIR (or a shipped one) cannot be read or compiled: exit 78, naming it."""


def environment(shipped: Path, override: Path | None = None) -> jinja2.Environment:
    """Given the folder of a stage's shipped templates and the society's folder (or None), return the
    environment that finds a template in the society's folder first, then among the shipped ones."""
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader(str(override)))
    loaders.append(jinja2.FileSystemLoader(str(shipped)))
    loader = jinja2.PrefixLoader({SHIPPED_PREFIX: jinja2.FileSystemLoader(str(shipped))})
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([loader, *loaders]),
        autoescape=jinja2.select_autoescape(enabled_extensions=ESCAPED, disabled_extensions=TEXT, default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def load(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Given an environment and a template's name, return it compiled; raise TemplateProblem naming the file,
    the line and what is wrong when it cannot be read or compiled."""
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as error:
        where = error.filename or name
        raise TemplateProblem(f"TEMPLATES_DIR: the template {where} line {error.lineno} cannot be read: "
                              f"{error.message}; correct it, or remove it to use the shipped {name}") from None
    except jinja2.TemplateNotFound:
        raise TemplateProblem(f"the template {name} is missing from the installation and from TEMPLATES_DIR; "
                              "reinstall zamio") from None


def render(template: jinja2.Template, **values: object) -> str:
    """Given a compiled template and its values, return the text; raise TemplateProblem naming the template
    and what it asked for when it fails (an overriding template that uses a name it is not given)."""
    try:
        return template.render(**values)
    except jinja2.TemplateError as error:
        raise TemplateProblem(f"TEMPLATES_DIR: the template {template.filename or template.name} failed: "
                              f"{error}; correct it, or remove it to use the shipped {template.name}") from None
