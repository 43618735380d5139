"""HTML fragments of the report: the escaping Jinja environment and the object that displays itself.

Templates live in ``csreport/templates`` (``fragments/`` for report components, ``email/``
for the message). Every one autoescapes: text from data or config (names, comments,
segments) is untrusted and is never marked safe.

In Jupyter a component carries the report's component stylesheet with it (:func:`for_jupyter`),
scoped under ``.csreport`` so it styles the component and nothing of JupyterLab; the report
page has that stylesheet once, so its template takes the copies out (:func:`without_jupyter_style`).
"""
from __future__ import annotations

import re
from functools import cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from . import style

env = Environment(loader=PackageLoader("csreport", "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                  lstrip_blocks=True)

# a signed amount ('+$72.4k', '−0.3 pp', '-3 pts') must not break across lines after its sign
_SIGNED_AMOUNT = re.compile(r"[+−-]\$?[\d,.]+(?:k|M|%| pp| pts| h| days)?")


def keep_amounts_whole(text: str) -> Markup:
    """Escape ``text``, then keep each signed amount on one line (``<span class="nb">``)."""
    return Markup(_SIGNED_AMOUNT.sub(lambda m: f'<span class="nb">{m.group(0)}</span>', str(escape(text))))


env.filters["keep_amounts_whole"] = keep_amounts_whole

# Jupyter only: the component sits on white "paper" of the report's width, also in a dark theme,
# and JupyterLab's table defaults (centred, fixed layout, striped rows) give way to the report's
_DISPLAY_CSS = """
.csreport.csreport-display { background: #fff; padding: 2mm 3mm; max-width: 190mm; box-sizing: border-box;
                             border-radius: 3px; }
.csreport.csreport-display table { margin-left: 0; margin-right: 0; }
.csreport.csreport-display tbody tr:nth-child(n) { background: none; }  /* no stripes, no hover */
.csreport.csreport-display p { text-align: left; }
"""
_STYLE_ATTRIBUTE = "data-csreport-style"
_JUPYTER_STYLE = re.compile(rf"<style {_STYLE_ATTRIBUTE}>.*?</style>", re.DOTALL)


@cache
def jupyter_style() -> str:
    """The ``<style>`` element a component brings along in Jupyter: palette, component rules, paper."""
    components = (resources.files("csreport") / "templates" / "csreport" / "components.css").read_text("utf-8")
    return f"<style {_STYLE_ATTRIBUTE}>{style.css_root('.csreport')}\n{components}{_DISPLAY_CSS}</style>"


def for_jupyter(html: str) -> str:
    """``html`` as Jupyter shows it: inside a ``.csreport`` box with the stylesheet (nothing for empty html)."""
    return f'<div class="csreport csreport-display">{jupyter_style()}{html}</div>' if html else ""


def without_jupyter_style(html: str) -> str:
    """A displayed component's HTML without its stylesheet copy (the report page has the stylesheet)."""
    return _JUPYTER_STYLE.sub("", html)


class Fragment:
    """A piece of the report as HTML; shows itself in Jupyter and in the rendered report."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:  # what Jupyter (and so the executed notebook) shows
        return for_jupyter(self.html)

    def __html__(self) -> str:  # Jinja's Markup protocol: the bare markup, to compose fragments
        return self.html

    def __str__(self) -> str:
        return self.html
