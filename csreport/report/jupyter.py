"""The notebook side of the report: how a kernel shows analysts' own figures and csreport's progress.

:func:`setup` (called by :func:`csreport.report.kernel.start`) makes every matplotlib figure of
the notebook, built-in or an analyst's own, look like the report's charts and reach the report:

* the house rcParams (:data:`csreport.report.charts.STYLE`) apply to every new figure;
* a figure is shown as SVG, never PNG: vector graphics with real text in Jupyter, the HTML and
  the PDF (the report template keeps ``image/svg+xml`` outputs as inline SVG);
* both ``plt.show()`` and a figure left as a cell's last expression are shown, once.

:class:`ProgressLine` is where progress messages go in a kernel: one quiet line that updates in
place, not stderr (which Jupyter paints red, like an error).
"""
from __future__ import annotations

import html
import sys
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from . import style
from .charts import STYLE, Chart

INLINE_BACKENDS = ("inline", "module://matplotlib_inline.backend_inline")
# the formats IPython may render a figure in; all but SVG are switched off
_FIGURE_FORMATS = ("image/png", "image/jpeg", "application/pdf", "image/svg+xml")


def shell() -> Any | None:
    """The IPython shell this code runs in, or None outside IPython (plain Python, tests)."""
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def setup(ip: Any | None) -> None:
    """House style and SVG for every figure of the notebook (see the module docstring). Safe to call again."""
    _activate_inline_backend()
    matplotlib.rcParams.update(STYLE)
    if ip is None:
        return
    formatters = ip.display_formatter.formatters
    for mime in _FIGURE_FORMATS:
        formatters[mime].pop(Figure, None)
    formatters["image/svg+xml"].for_type(Figure, figure_svg)


def _activate_inline_backend() -> None:
    """Let the inline backend configure itself now, not at the analyst's first ``import matplotlib.pyplot``.

    On import it registers the hook that shows ``plt.show()`` figures and selects its own default
    format (PNG); done later, that would undo :func:`setup`.
    """
    try:
        backend = matplotlib.get_backend(auto_select=False)
    except TypeError:  # matplotlib < 3.10: the setting as it stands, without choosing a backend
        backend = matplotlib.rcParams._get("backend")
    if backend in INLINE_BACKENDS:
        import matplotlib_inline.backend_inline  # noqa: F401  (configures IPython when imported)


def figure_svg(fig: Figure) -> str:
    """A figure as the report's SVG (house style at save time, tight box, ids unique on the page).

    Once shown, pyplot closes the figure: the inline backend would otherwise show a pyplot figure
    that was a cell's last expression a second time when the cell ends.
    """
    svg = Chart.from_figure(fig).svg
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)
    return svg


class ProgressLine:
    """One muted line below the cell that shows the latest progress message, updated in place."""

    def __init__(self) -> None:
        self._handle: Any = None

    def __call__(self, message: str) -> None:
        from IPython.display import display

        bundle = {"text/plain": f"csreport: {message}",
                  "text/html": f'<div style="color: {style.MUTED}; font-size: 12px;">csreport: '
                               f"{html.escape(message)}</div>"}  # a path or table name may hold markup
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
