"""Charts in one house style: calm greys, one accent, direct labels, no chart junk.

Each function takes plain data and returns a :class:`Chart`: vector SVG with real
(selectable) text that displays itself in Jupyter and in the report. Figures are built
with matplotlib's object API (no pyplot), so importing this module never changes the
notebook's plotting backend. Text from data is shown literally (no mathtext).
"""
from __future__ import annotations

import io
import itertools
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from cycler import cycler
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from . import style
from .formatting import money, month_label
from .html import for_jupyter

STYLE: dict[Any, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "text.parse_math": False,  # '$5 plan' is text, not mathtext
    "axes.edgecolor": style.LINE,
    "axes.labelcolor": style.MUTED,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlecolor": style.INK,
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,  # gridlines behind bars and lines
    "grid.color": style.LINE,
    "grid.linewidth": 0.8,
    "xtick.color": style.MUTED,
    "ytick.color": style.MUTED,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "legend.frameon": False,
    "svg.fonttype": "none",  # keep text as text: selectable in the PDF, crisp at any zoom
    "svg.hashsalt": "csreport",  # stable ids: the same chart gives the same SVG
    "figure.dpi": 100,
    "figure.figsize": (7.0, 3.0),  # an analyst's figure: the page's width, the report charts' proportions
    "axes.prop_cycle": cycler(color=style.SERIES),  # an analyst's lines and bars: the accent first
}


_NUMBER = itertools.count(1)
_SVG_ID = re.compile(r'(\bid="|url\(#|href="#)')


class Chart:
    """A finished chart: SVG markup from our own drawing code (so trusted), shown as a figure."""

    def __init__(self, svg: str):
        self.svg = svg

    @classmethod
    def from_figure(cls, fig: Figure) -> Chart:
        buffer = io.StringIO()
        with rc_context(STYLE):
            fig.savefig(buffer, format="svg", bbox_inches="tight")
        svg = buffer.getvalue()
        # matplotlib numbers its ids per figure (patch_1, text_2, ...): prefix them, or the
        # charts of one page would share ids
        prefix = f"chart{next(_NUMBER)}-"
        return cls(_SVG_ID.sub(lambda m: m.group(1) + prefix, svg[svg.index("<svg"):]))

    def _repr_html_(self) -> str:  # what Jupyter (and so the executed notebook) shows
        return for_jupyter(self.__html__())

    def __html__(self) -> str:  # Jinja's Markup protocol: the bare markup, to compose charts
        return f'<figure class="chart">{self.svg}</figure>'


def _figure(width: float = 7.0, height: float = 2.8) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def mrr_bridge(bridge: Mapping[str, Any], period_label: str, previous_label: str) -> Chart:
    """Waterfall: start → new, reactivation, expansion, −contraction, −churned → end. The y-axis starts at 0."""
    steps = [("mrr_new", "New", 1), ("mrr_reactivation", "Reactivation", 1), ("mrr_expansion", "Expansion", 1),
             ("mrr_contraction", "Contraction", -1), ("mrr_churned", "Churned", -1)]
    with rc_context(STYLE):
        fig, ax = _figure(7.0, 2.6)
        labels = [f"MRR {previous_label}"] + [s[1] for s in steps] + [f"MRR {period_label}"]
        level = bridge["mrr_start"]
        ax.bar(0, level, color=style.MUTED, width=0.6)
        ax.text(0, level, money(level), ha="center", va="bottom", fontsize=8.5, color=style.INK)
        for i, (key, _, sign) in enumerate(steps, start=1):
            amount = bridge[key]
            bottom = level if sign > 0 else level - amount
            ax.bar(i, amount, bottom=bottom, color=style.GREEN if sign > 0 else style.RED, width=0.6)
            ax.text(i, bottom + amount, ("+" if sign > 0 else "−") + money(amount), ha="center", va="bottom",
                    fontsize=8.5, color=style.INK)
            level += sign * amount
        ax.bar(len(steps) + 1, bridge["mrr_end"], color=style.ACCENT, width=0.6)
        ax.text(len(steps) + 1, bridge["mrr_end"], money(bridge["mrr_end"]), ha="center", va="bottom",
                fontsize=8.5, color=style.INK, fontweight="bold")
        ax.set_xticks(range(len(labels)), labels)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("MRR ($ per month)")
        ax.set_title("MRR bridge")
        return Chart.from_figure(fig)


def trend(series: dict[str, pd.Series], title: str, unit: str = "%",
          targets: dict[str, float | None] | None = None) -> Chart:
    """Lines over periods (index 'YYYY-MM'); optional dashed target lines per series."""
    with rc_context(STYLE):
        fig, ax = _figure(3.45, 2.3)
        for color, (name, values) in zip(style.SERIES, series.items(), strict=False):  # up to 4 series
            values = values.dropna()
            ax.plot(range(len(values)), values.to_numpy(), color=color, linewidth=2, marker="o", markersize=2.5,
                    label=name)
            if len(values):
                ax.annotate(f"{values.iloc[-1]:.1f}{unit}", (len(values) - 1, values.iloc[-1]), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=8, color=color, fontweight="bold")
            if targets and targets.get(name) is not None:
                ax.axhline(targets[name], color=color, linestyle=(0, (3, 3)), linewidth=1, alpha=0.7)
        index = next(iter(series.values())).dropna().index
        ticks = list(range(0, len(index), max(1, len(index) // 3)))
        ax.set_xticks(ticks, [month_label(str(index[i])) for i in ticks])
        ax.set_xlim(-0.5, len(index) - 0.2 + 0.8)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(loc="lower left", fontsize=7.5, ncols=len(series))
        return Chart.from_figure(fig)


def feature_adoption(adoption: dict[str, float], top: int = 10) -> Chart:
    """Horizontal bars: share of engaged customers using each feature (top N)."""
    items = sorted(adoption.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    with rc_context(STYLE):
        fig, ax = _figure(7.0, 2.2)
        names = [k.replace("_", " ") for k, _ in items]
        values = [v for _, v in items]
        ax.barh(range(len(names)), values, color=style.ACCENT, height=0.65)
        ax.set_yticks(range(len(names)), names)
        for y, v in enumerate(values):
            ax.text(v + 1, y, f"{v:.0f}%", va="center", fontsize=8, color=style.INK)
        ax.set_xlim(0, 112)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlabel("% of customers with any usage")
        ax.set_title(f"Feature adoption (top {len(items)})")
        return Chart.from_figure(fig)


def health_mix(counts: dict[str, int]) -> Chart:
    """One stacked bar: customers by health band."""
    with rc_context(STYLE):
        fig, ax = _figure(7.0, 1.1)
        total = sum(counts.values()) or 1
        left = 0.0
        for band in ("green", "amber", "red"):
            share = 100.0 * counts.get(band, 0) / total
            ax.barh([0], [share], left=left, color=style.RAG[band], height=0.55)
            if share >= 7:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")
            left += share
        ax.set_xlim(0, 100)
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title("Customers by health band")
        return Chart.from_figure(fig)
