"""HTML fragments of the report: the escaping Jinja environment and the object that displays itself.

Templates live in ``csreport/templates`` (``fragments/`` for report components, ``email/``
for the message). Every one autoescapes: text from data or config (names, comments,
segments) is untrusted and is never marked safe.
"""
from __future__ import annotations

import re

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

env = Environment(loader=PackageLoader("csreport", "templates"),
                  autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                  lstrip_blocks=True)

# a signed amount ('+$72.4k', '−0.3 pp', '-3 pts') must not break across lines after its sign
_SIGNED_AMOUNT = re.compile(r"[+−-]\$?[\d,.]+(?:k|M|%| pp| pts| h| days)?")


def keep_amounts_whole(text: str) -> Markup:
    """Escape ``text``, then keep each signed amount on one line (``<span class="nb">``)."""
    return Markup(_SIGNED_AMOUNT.sub(lambda m: f'<span class="nb">{m.group(0)}</span>', str(escape(text))))


env.filters["keep_amounts_whole"] = keep_amounts_whole


class Fragment:
    """A piece of the report as HTML; shows itself in Jupyter and in the rendered report."""

    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __html__(self) -> str:  # Jinja's Markup protocol
        return self.html

    def __str__(self) -> str:
        return self.html
