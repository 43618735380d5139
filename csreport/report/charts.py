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

import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import rc_context
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..metrics.health import BANDS
from ..text import clip, inert
from . import style
from .formatting import BRIDGE_STEPS, BridgeFigures, bridge_figures, fmt, money, month_label
from .html import for_jupyter

LABEL_CHARS = 40  # a name on a chart axis
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
        svg = inert(buffer.getvalue())  # names on axes and in legends: no bidirectional overrides
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


# the bridge's y-axis is broken when the month's movements are this small a share of MRR: from 0,
# a +4 % month would be a sliver; cut without a mark, it would look like +33 %
BREAK_SHARE = 0.25


def mrr_bridge(bridge: Mapping[str, Any], period_label: str, previous_label: str) -> Chart:
    """Waterfall: start → new, reactivation, expansion, −contraction, −churned → end.

    Bars start at 0. When the movements are small against MRR the y-axis is broken, and shown
    broken: a short panel from 0 below, the range of the movements above, break marks between
    them and a note naming the gap. Labels are the rounded amounts of the narrative
    (:func:`~csreport.report.formatting.bridge_figures`), so chart and text add up alike.
    """
    figures = bridge_figures(bridge)
    signs = [sign for _, _, sign in BRIDGE_STEPS]
    amounts = [bridge[key] for key, _, _ in BRIDGE_STEPS]
    levels = [bridge["mrr_start"]]
    for sign, amount in zip(signs, amounts, strict=True):
        levels.append(levels[-1] + sign * amount)
    low, high = min(levels + [bridge["mrr_end"]]), max(levels + [bridge["mrr_end"]])
    broken = low > 0 and (high - low) < BREAK_SHARE * high
    with rc_context(STYLE):
        fig = Figure(figsize=(7.0, 2.5), layout="constrained")
        if broken:
            top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[5, 1])
            axes = [top, bottom]
        else:
            top = bottom = fig.add_subplot()
            axes = [top]
        words = [word.capitalize() for _, word, _ in BRIDGE_STEPS]
        labels = [f"MRR {previous_label}", *words, f"MRR {period_label}"]
        texts = _bridge_labels(figures, bridge)
        for ax in axes:
            ax.set_axisbelow(True)  # gridlines behind the bars
            ax.bar(0, bridge["mrr_start"], color=style.MUTED, width=0.6)
            level = bridge["mrr_start"]
            for i, (sign, amount) in enumerate(zip(signs, amounts, strict=True), start=1):
                base = level if sign > 0 else level - amount
                ax.bar(i, amount, bottom=base, color=style.GREEN if sign > 0 else style.RED, width=0.6)
                level += sign * amount
            ax.bar(len(signs) + 1, bridge["mrr_end"], color=style.ACCENT, width=0.6)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        tops = [bridge["mrr_start"]] + [max(levels[i], levels[i + 1]) for i in range(len(signs))] + [bridge["mrr_end"]]
        for i, (text, y) in enumerate(zip(texts, tops, strict=True)):
            top.text(i, y, text, ha="center", va="bottom", fontsize=8.5, color=style.INK,
                     fontweight="bold" if i == len(tops) - 1 else "normal")
        if broken:
            pad = 0.18 * (high - low) or 0.01 * high
            top.set_ylim(low - pad, high + 1.6 * pad)
            span = (high + 1.6 * pad) - (low - pad)
            bottom.set_ylim(0, span / 5)  # the same scale as the top panel (height ratio 5 : 1)
            bottom.set_yticks([0])
            top.spines["bottom"].set_visible(False)
            top.tick_params(axis="x", length=0, labelbottom=False)
            _break_marks(top, bottom)
            top.set_title(f"MRR bridge (y-axis broken between $0 and {money(low - pad)})")
        elif high == 0:  # no MRR in either month (a book without customers): one $0, not a scale of them
            top.set_ylim(0, 1)
            top.set_yticks([0])
            top.set_title("MRR bridge (no MRR in either month)")
        else:
            top.set_ylim(bottom=0)
            top.set_title("MRR bridge")
        bottom.set_xticks(range(len(labels)), labels)
        fig.supylabel("MRR ($ per month)", fontsize=8, color=style.MUTED)
        return Chart.from_figure(fig)


def _bridge_labels(figures: BridgeFigures | None, bridge: Mapping[str, Any]) -> list[str]:
    """Bar labels: the narrative's rounded amounts (they add up), or plain money when a part is null."""
    if figures is None:
        keys = ["mrr_start", *(key for key, _, _ in BRIDGE_STEPS), "mrr_end"]
        return [money(bridge[key]) for key in keys]
    return [figures.text(figures.start)] + [figures.text(u, signed=True) for _, _, u in figures.parts] \
        + [figures.text(figures.end)]


def _break_marks(top: Any, bottom: Any) -> None:
    """Diagonal marks on the y-axis where it is cut (matplotlib's broken-axis recipe)."""
    marks = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 9, "linestyle": "none", "color": style.INK,
             "mec": style.INK, "mew": 1, "clip_on": False}
    top.plot([0], [0], transform=top.transAxes, **marks)
    bottom.plot([0], [1], transform=bottom.transAxes, **marks)


def trend(series: dict[str, pd.Series], title: str, unit: str = "%",
          targets: dict[str, float | None] | None = None, margins: dict[str, pd.Series] | None = None,
          ylabel: str | None = None, key: str | None = None) -> Chart:
    """Lines over periods (index 'YYYY-MM'), up to four series.

    ``targets``: a dashed line per series; ``margins``: a shaded 95 % margin of error around a
    series (± the value, in its units). Both are named in the legend. ``ylabel`` names the axis
    unit; ``key`` formats the end labels as the report does (e.g. '+38' for NPS).
    """
    with rc_context(STYLE):
        fig, ax = _figure(3.45, 2.45)
        index = next(iter(series.values())).index
        position = {month: i for i, month in enumerate(index)}
        for color, (name, values) in zip(style.SERIES, series.items(), strict=False):  # up to 4 series
            values = values.dropna()
            x = [position[m] for m in values.index]
            margin = (margins or {}).get(name)
            if margin is not None and len(margin.dropna()):
                band = margin.reindex(values.index)
                ax.fill_between(x, (values - band).to_numpy(), (values + band).to_numpy(), color=color, alpha=0.14,
                                linewidth=0, label="95% margin of error")
            ax.plot(x, values.to_numpy(), color=color, linewidth=2, marker="o", markersize=2.5, label=name)
            if len(values):
                last = values.iloc[-1]
                text = fmt(key, last) if key else f"{last:.1f}{unit}"
                ax.annotate(text, (x[-1], last), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8,
                            color=color, fontweight="bold")
            if targets and targets.get(name) is not None:
                ax.axhline(targets[name], color=color, linestyle=(0, (3, 3)), linewidth=1, alpha=0.8,
                           label=f"{name} target" if len(series) > 1 else "target")
        ticks = list(range(0, len(index), max(1, len(index) // 3)))
        ax.set_xticks(ticks, [month_label(str(index[i])) for i in ticks])
        ax.set_xlim(-0.5, len(index) - 0.2 + 0.8)
        ax.set_title(title)
        if ylabel:
            ax.set_ylabel(ylabel, fontsize=7.5)
        if ax.get_legend_handles_labels()[0]:
            fig.legend(loc="outside lower center", fontsize=7, ncols=3, handlelength=1.6, columnspacing=1.0)
        return Chart.from_figure(fig)


def feature_adoption(adoption: dict[str, float], top: int = 10) -> Chart:
    """Horizontal bars: share of engaged customers using each feature (top N)."""
    items = sorted(adoption.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    with rc_context(STYLE):
        fig, ax = _figure(7.0, 2.2)
        names = [clip(k.replace("_", " "), LABEL_CHARS) for k, _ in items]  # event names are data: text, bounded
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
        for band in BANDS:
            share = 100.0 * counts.get(band, 0) / total
            ax.barh([0], [share], left=left, color=style.RAG[band], height=0.55)
            if share >= 7:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")
            left += share
        ax.set_xlim(0, 100)
        ax.set_yticks([])
        ax.grid(False)
        ax.set_xlabel("% of customers active in the month", fontsize=7.5)
        ax.set_title("Customers by health band")
        return Chart.from_figure(fig)


# the heatmap's one-hue scale runs over at least 50 … 100 %, from white to a light accent that dark
# numbers stay readable on, in colour and printed in grey
HEAT_LOW, HEAT_HIGH = 50.0, 100.0
HEAT_DARKEST = "#8db0ed"  # the accent (#2f6fde) 45 % of the way to white


def cohort_heatmap(curves: Mapping[str, list[float]], title: str, sizes: Mapping[str, int] | None = None) -> Chart:
    """Cohorts (rows, oldest first) by months since the cohort's first paying month (columns).

    Every cell holds its retention in percent as a number; the shade (one hue, darker = more
    retained) only groups them, so the chart reads in black and white and without colour vision.
    The scale runs from 50 % (or the lowest value) to 100 % (or the highest: MRR retention can
    pass 100), the same for every cohort chart of a report. ``sizes``: accounts per cohort,
    shown next to each month.
    """
    months = list(curves)
    ages = max(len(v) for v in curves.values())
    grid = np.full((len(months), ages), np.nan)
    for row, month in enumerate(months):
        grid[row, :len(curves[month])] = curves[month]
    low, high = min(HEAT_LOW, float(np.nanmin(grid))), max(HEAT_HIGH, float(np.nanmax(grid)))
    with rc_context(STYLE):
        fig, ax = _figure(7.0, 0.55 + 0.19 * len(months))
        shades = LinearSegmentedColormap.from_list("retention", ["#ffffff", HEAT_DARKEST])
        # vector cells (pcolormesh, not imshow): no raster picture in the SVG or the PDF
        ax.pcolormesh(np.arange(ages + 1) - 0.5, np.arange(len(months) + 1) - 0.5, np.ma.masked_invalid(grid),
                      cmap=shades, vmin=low, vmax=high, edgecolors="white", linewidth=0.6)
        ax.set_xlim(-0.5, ages - 0.5)
        ax.set_ylim(len(months) - 0.5, -0.5)  # the oldest cohort on top
        for (row, age), value in np.ndenumerate(grid):
            if not np.isnan(value):
                # inside its cell: left out of the layout passes, which then measure ~180 fewer texts
                ax.text(age, row, f"{value:.0f}", ha="center", va="center", fontsize=7, color=style.INK,
                        in_layout=False)
        labels = [month_label(m) + (f" (n={sizes[m]:,})" if sizes and m in sizes else "") for m in months]
        ax.set_yticks(range(len(months)), labels, fontsize=7.5)
        ax.set_xticks(range(ages), [str(age) for age in range(ages)], fontsize=7.5)
        ax.xaxis.set_ticks_position("top")
        ax.xaxis.set_label_position("top")
        ax.set_xlabel("months since the cohort's first paying month", fontsize=7.5)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title, pad=4)
        return Chart.from_figure(fig)
