"""How numbers read in the report and the email: '38', '79.3%', '$4.9M', '▲ +1.5 pp', 'Feb 2026'."""
from __future__ import annotations

from dataclasses import dataclass

from ..metrics.catalog import BY_KEY
from ..model.types import Scope
from ..periods import Period

# the metrics an executive sees first: KPI tiles and the email summary
HEADLINE = ["nps", "csat_pct", "logo_churn_rate_pct", "grr_pct", "nrr_pct", "mrr_end", "customers_end",
            "health_green_pct"]
# the unit a change is written in, per metric unit ("pct" changes are percentage points)
DELTA_UNIT = {"pct": " pp", "hours": " h", "minutes": " min", "days": " days", "points": " pts", "score": "",
              "count": ""}
EPSILON = 1e-12
# how a target reads: "target ≥ 40" when higher is better, "target ≤ 1.0%" when lower is
DIRECTION_SIGN = {"higher": "≥", "lower": "≤"}


def unit_of(key: str) -> str:
    return BY_KEY[key].unit if key in BY_KEY else "count"


def month_label(period: Period | str) -> str:
    """'Feb 2026': a month that cannot be misread as a day or a year."""
    period = Period.parse(period) if isinstance(period, str) else period
    return period.start_date.strftime("%b %Y")


def money(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"${value / size:,.1f}{unit}"
    return f"${value:,.0f}"


def fmt(key: str, value: float | int | None) -> str:
    """A metric value for people: '+38', '79.3%', '$4.9M', '3.0 h', '12.5 days'."""
    if value is None:
        return "n/a"
    if key == "nps":
        return f"{value:+.0f}"
    if key == "nps_moe95":
        return f"±{value:.1f}"
    return in_unit(unit_of(key), value)


def in_unit(unit: str, value: float | int) -> str:
    """A number in one of the catalog's units as the report writes it (metrics, and analysts' tables)."""
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "currency":
        return money(value)
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "minutes":
        return f"{value:.1f} min"
    if unit == "days":
        return f"{value:.1f} days"
    if unit in ("points", "score"):
        return f"{value:.1f}"
    if unit == "ratio":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def change_text(key: str, now: float, before: float) -> str:
    """The change from ``before`` to ``now`` with its unit: '+1.5 pp', '−3.2%', '+2.0 h', '+12'."""
    change = now - before
    unit = unit_of(key)
    if unit == "currency":
        return f"{100 * change / before:+.1f}%" if before else ("+" if change >= 0 else "-") + money(abs(change))
    if unit in ("count",):
        return f"{change:+,.0f}"
    if unit == "points" and key == "nps":
        return f"{change:+.0f} pts"
    if unit == "ratio":  # ratios are written with two decimals (1.30): so are their changes
        return f"{change:+.2f}"
    return f"{change:+.1f}{DELTA_UNIT.get(unit, '')}"


@dataclass(frozen=True)
class Delta:
    """A change ready to show: text with unit, arrow, and tone (good, bad, or flat = neither/noise)."""

    text: str
    arrow: str
    tone: str


def delta(key: str, now: float | int | None, before: float | int | None,
          significant: bool | None = None) -> Delta | None:
    """Change vs an earlier value. A change within sampling noise (``significant`` False) is flat grey."""
    if now is None or before is None or isinstance(now, dict):
        return None
    change = now - before
    better = BY_KEY[key].higher_is_better if key in BY_KEY else None
    good = None if better is None or abs(change) < EPSILON or significant is False else (change > 0) == better
    arrow = "▲" if change > EPSILON else "▼" if change < -EPSILON else "▶"
    return Delta(change_text(key, now, before), arrow, "flat" if good is None else "good" if good else "bad")


def mom(scope: Scope, key: str) -> Delta | None:
    """The month-over-month change of a metric as the model holds it (grey when within noise)."""
    change = scope.change(key)
    return delta(key, scope.value(key), change.previous, change.significant)


def yoy(scope: Scope, key: str) -> Delta | None:
    """The change against the same month a year earlier."""
    return delta(key, scope.value(key), scope.change(key).year_ago)
