"""Untrusted text (names, comments, config strings) as the report shows it: bounded and inert.

* :func:`clip` keeps at most ``limit`` characters and marks the cut with a visible "…", so one
  1 MB survey comment or account name costs a few lines, not hundreds of pages.
* :func:`inert` removes the Unicode controls that reorder text (bidirectional embeddings,
  overrides and isolates, U+202A–U+202E and U+2066–U+2069): a name holding U+202E cannot
  make the figures or words after it read backwards. Right-to-left scripts still display
  correctly: they need no control characters.

* :func:`for_terminal` shows the control characters of a progress or error line (escape sequences
  from an account or CSM name: colours, cursor moves, a cleared screen) as escapes, never obeys them.

* :func:`safe_cell` keeps a spreadsheet from running a CSV cell as a formula (OWASP CSV injection):
  every CSV the product writes (health.csv, the rejects files) goes through it.

Escaping for HTML happens where the text is rendered (autoescaping Jinja); mathtext is off in
the charts' house style. These functions are the rest of "names are text".
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

ELLIPSIS = "…"
COMMENT_CHARS = 600  # a verbatim comment in the report
NAME_CHARS = 120  # an account, segment, CSM or feature name in a table or chart
TEXT_CHARS = 1000  # any other single piece of untrusted text rendered in the report or the email

_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """``text`` without the bidirectional control characters that reorder what follows them."""
    return _BIDI_CONTROLS.sub("", text)


def clip(text: str, limit: int) -> str:
    """``text`` made inert and cut to at most ``limit`` characters, the cut marked with "…"."""
    text = inert(text)
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def for_terminal(text: str) -> str:
    """``text`` safe to print on a terminal: control characters (ESC, BEL, CR, DEL, ...) and the
    bidirectional controls written as Python escapes (``\\x1b``, ``\\u202e``); line breaks and tabs kept,
    every other character (joiners in names and emoji included) as is."""
    return "".join(repr(c)[1:-1] if _BIDI_CONTROLS.match(c) or (unicodedata.category(c) == "Cc" and c not in "\n\t")
                   else c for c in text)


# a cell starting with one of these is a formula to a spreadsheet (OWASP: = + - @ tab CR)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# ... unless it is a plain number such as -12.5, which a spreadsheet reads as that number and nothing else
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text, never evaluates: text starting with ``= + - @``, a tab or
    a carriage return gets a leading ``'``; numbers (and text that is a plain number) stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
