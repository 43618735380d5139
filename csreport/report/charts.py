"""Charts in one house style: calm greys, one accent, direct labels, no chart junk.

Every function takes plain pandas/dict data and returns a matplotlib Figure;
:func:`to_svg` turns it into vector SVG with real (selectable) text.
"""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display: the report renders headless, from cron too
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from .formatting import money  # noqa: E402

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ACCENT = "#2f6fde"
GOOD = "#1e8e5a"
BAD = "#c8372d"
WARN = "#d98a00"
RAG = {"green": GOOD, "amber": WARN, "red": BAD}
SERIES = [ACCENT, "#7a5cc7", "#16a3a3", "#e07b39"]

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.edgecolor": GRID,
    "axes.labelcolor": MUTED,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlecolor": INK,
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.spines.left": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.major.size": 0,
    "ytick.major.size": 0,
    "legend.frameon": False,
    "svg.fonttype": "none",  # keep text as text: selectable in the PDF, crisp at any zoom
    "figure.dpi": 100,
}


def _figure(width: float = 7.0, height: float = 2.8):
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def to_svg(fig) -> str:
    """The figure as an SVG document (text kept as text), then closed."""
    buffer = io.StringIO()
    with plt.rc_context(STYLE):
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def mrr_bridge(bridge: dict[str, float], period_label: str, previous_label: str):
    """Waterfall: start → new, reactivation, expansion, −contraction, −churned → end."""
    steps = [("mrr_new", "New", 1), ("mrr_reactivation", "Reactivation", 1), ("mrr_expansion", "Expansion", 1),
             ("mrr_contraction", "Contraction", -1), ("mrr_churned", "Churned", -1)]
    fig, ax = _figure(7.0, 2.6)
    with plt.rc_context(STYLE):
        labels = [f"MRR {previous_label}"] + [s[1] for s in steps] + [f"MRR {period_label}"]
        level = bridge["mrr_start"]
        ax.bar(0, level, color=MUTED, width=0.6)
        ax.text(0, level, money(level), ha="center", va="bottom", fontsize=8.5, color=INK)
        for i, (key, _, sign) in enumerate(steps, start=1):
            amount = bridge[key]
            bottom = level if sign > 0 else level - amount
            ax.bar(i, amount, bottom=bottom, color=GOOD if sign > 0 else BAD, width=0.6)
            ax.text(i, bottom + amount, ("+" if sign > 0 else "−") + money(amount), ha="center", va="bottom",
                    fontsize=8.5, color=INK)
            level += sign * amount
        ax.bar(len(steps) + 1, bridge["mrr_end"], color=ACCENT, width=0.6)
        ax.text(len(steps) + 1, bridge["mrr_end"], money(bridge["mrr_end"]), ha="center", va="bottom",
                fontsize=8.5, color=INK, fontweight="bold")
        ax.set_xticks(range(len(labels)), labels)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: money(v)))
        low = min(bridge["mrr_start"], bridge["mrr_end"]) * 0.9
        ax.set_ylim(bottom=max(0, low - (bridge["mrr_start"] - low) * 0.2))
        ax.set_title("MRR bridge")
    return fig


def trend(series: dict[str, pd.Series], title: str, unit: str = "%", targets: dict[str, float] | None = None):
    """Lines over periods (index 'YYYY-MM'); optional dashed target lines per series."""
    fig, ax = _figure(3.45, 2.3)
    with plt.rc_context(STYLE):
        for color, (name, values) in zip(SERIES, series.items()):
            values = values.dropna()
            ax.plot(range(len(values)), values.to_numpy(), color=color, linewidth=2, marker="o", markersize=2.5,
                    label=name)
            if len(values):
                ax.annotate(f"{values.iloc[-1]:.1f}{unit}", (len(values) - 1, values.iloc[-1]), xytext=(4, 0),
                            textcoords="offset points", va="center", fontsize=8, color=color, fontweight="bold")
            if targets and targets.get(name) is not None:
                ax.axhline(targets[name], color=color, linestyle=(0, (3, 3)), linewidth=1, alpha=0.7)
        index = next(iter(series.values())).dropna().index
        ticks = list(range(0, len(index), max(1, len(index) // 4)))
        ax.set_xticks(ticks, [pd.Period(index[i]).strftime("%b %y") for i in ticks])
        ax.set_xlim(-0.5, len(index) - 0.2 + 0.8)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(loc="lower left", fontsize=7.5, ncols=len(series))
    return fig


def feature_adoption(adoption: dict[str, float], top: int = 10):
    """Horizontal bars: share of engaged customers using each feature (top N)."""
    items = sorted(adoption.items(), key=lambda kv: kv[1], reverse=True)[:top][::-1]
    fig, ax = _figure(7.0, 2.2)
    with plt.rc_context(STYLE):
        names = [k.replace("_", " ") for k, _ in items]
        values = [v for _, v in items]
        ax.set_axisbelow(True)
        ax.barh(names, values, color=ACCENT, height=0.65)
        for y, v in enumerate(values):
            ax.text(v + 1, y, f"{v:.0f}%", va="center", fontsize=8, color=INK)
        ax.set_xlim(0, 112)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_title(f"Feature adoption (top {len(items)})")
    return fig


def health_mix(counts: dict[str, int]):
    """One stacked bar: customers by health band."""
    fig, ax = _figure(7.0, 1.1)
    with plt.rc_context(STYLE):
        total = sum(counts.values()) or 1
        left = 0.0
        for band in ("green", "amber", "red"):
            share = 100.0 * counts.get(band, 0) / total
            ax.barh([0], [share], left=left, color=RAG[band], height=0.55)
            if share >= 7:
                ax.text(left + share / 2, 0, f"{share:.0f}%", ha="center", va="center", color="white",
                        fontsize=9, fontweight="bold")
            left += share
        ax.set_xlim(0, 100)
        ax.set_yticks([])
        ax.grid(False)
        ax.set_title("Customers by health band")
    return fig
