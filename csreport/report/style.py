"""The house palette: the one place that says which colour means what.

Charts (matplotlib), the report's CSS (as custom properties, see the template) and the
email's inline styles all take their colours from here.
"""
from __future__ import annotations

INK = "#1f2933"
MUTED = "#7b8794"
LINE = "#e4e7eb"
SOFT = "#f5f7fa"
ACCENT = "#2f6fde"
GREEN = "#1e8e5a"
AMBER = "#d98a00"
RED = "#c8372d"

RAG = {"green": GREEN, "amber": AMBER, "red": RED}
# good news, bad news, neither (a volume, or a change within sampling noise)
TONE = {"good": GREEN, "bad": RED, "flat": MUTED}
SERIES = [ACCENT, "#7a5cc7", "#16a3a3", "#e07b39"]

# light backgrounds with dark text of the same hue, for status-coloured table cells
RAG_TINT = {"green": ("#e3f4ea", "#12633e"), "amber": ("#fdf1d8", "#8a5a00"), "red": ("#fbe3e1", "#9b261e")}

# CSS custom properties of the report template: var(--green), var(--green-tint), ...
CSS_VARIABLES = {"ink": INK, "muted": MUTED, "line": LINE, "soft": SOFT, "accent": ACCENT, "green": GREEN,
                 "amber": AMBER, "red": RED}
CSS_VARIABLES |= {f"{band}-tint": tint for band, (tint, _) in RAG_TINT.items()}
CSS_VARIABLES |= {f"{band}-text": text for band, (_, text) in RAG_TINT.items()}


def css_root(selector: str = ":root") -> str:
    """``:root { --ink: #1f2933; ... }`` for the report stylesheet (``.csreport`` for a component shown in Jupyter)."""
    return selector + " { " + " ".join(f"--{name}: {value};" for name, value in CSS_VARIABLES.items()) + " }"
