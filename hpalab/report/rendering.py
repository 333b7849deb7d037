"""The view model into one self-contained HTML page: styles and script inlined, no network."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@cache
def _environment() -> Environment:
    # Autoescape everything: variant names, findings and spec text come from users.
    return Environment(
        loader=PackageLoader("hpalab.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> str:
    return resources.files("hpalab.report").joinpath("templates", name).read_text("utf-8")


def render_html(view: dict[str, Any]) -> str:
    """The report page for ``view`` (see :func:`hpalab.report.viewmodel.build_view`)."""
    template = _environment().get_template("report.html.j2")
    # The assets are this package's own files, never user input, and contain no "</" that
    # could end their element early; so they are inlined unescaped.
    css = Markup(_asset("report.css"))  # noqa: S704
    js = Markup(_asset("report.js"))  # noqa: S704
    return template.render(v=view, css=css, js=js)
