"""How numbers read in the report and the email: '38', '79.3%', '$4.9M', '▲ +1.5 pp', 'Feb 2026'."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..metrics.catalog import BY_KEY
from ..model.types import Scope
from ..periods import Period

# the metrics an executive sees first: KPI tiles and the email summary
# (retention over twelve months; the monthly GRR and NRR are on the revenue page)
HEADLINE = ["nps", "csat_pct", "logo_churn_rate_pct", "grr_ttm_pct", "nrr_ttm_pct", "mrr_end", "customers_end",
            "health_green_pct"]
# the unit a change is written in, per metric unit ("pct" changes are percentage points; scores move in points)
DELTA_UNIT = {"pct": " pp", "hours": " h", "minutes": " min", "days": " days", "points": " pts", "score": " pts",
              "count": "", "ratio": ""}
# how a target reads: "target ≥ 40" when higher is better, "target ≤ 1.0%" when lower is
DIRECTION_SIGN = {"higher": "≥", "lower": "≤"}


def unit_of(key: str) -> str:
    return BY_KEY[key].unit if key in BY_KEY else "count"


def month_label(period: Period | str) -> str:
    """'Feb 2026': a month that cannot be misread as a day or a year."""
    period = Period.parse(period) if isinstance(period, str) else period
    return period.start_date.strftime("%b %Y")


def period_heading(period: Period, unfinished_as_of: date | None = None) -> str:
    """'November 2026'; for a month not over when its figures were computed (the model's ``unfinished_as_of``),
    'November 2026 (to 25 November)', or 'December 2026 (not begun)' before it starts."""
    if unfinished_as_of is None:
        return period.label
    if unfinished_as_of < period.start_date.date():
        return f"{period.label} (not begun)"
    return f"{period.label} (to {unfinished_as_of.day} {unfinished_as_of:%B})"


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


def change_size(key: str, now: float, before: float) -> str:
    """How big a change is, unsigned, in its unit: '1.5 pp', '36.1%', '2.0 h', '6 pts', '12'.

    Currency changes are relative (percent of ``before``); percentages change in percentage points;
    scores (health, CES) and NPS in points.
    """
    change = abs(now - before)
    unit = unit_of(key)
    if unit == "currency":
        return f"{100 * change / abs(before):.1f}%" if before else money(change)
    if unit == "count":
        return f"{change:,.0f}"
    if key == "nps":
        return f"{change:.0f} pts"
    if unit == "ratio":  # ratios are written with two decimals (1.30): so are their changes
        return f"{change:.2f}"
    return f"{change:.1f}{DELTA_UNIT.get(unit, '')}"


def shows_zero(text: str) -> bool:
    """Whether a formatted amount reads as zero ('0.0 pp', '$0', '0 pts')."""
    return not any(ch in "123456789" for ch in text)


def change_text(key: str, now: float, before: float) -> str:
    """The change from ``before`` to ``now`` with sign and unit: '+1.5 pp', '-36.1%', '+2.0 h', '+12'."""
    size = change_size(key, now, before)
    return ("-" if now < before and not shows_zero(size) else "+") + size


@dataclass(frozen=True)
class Delta:
    """A change ready to show: text with unit, arrow, and tone (good, bad, or flat = neither/noise)."""

    text: str
    arrow: str
    tone: str


def delta(key: str, now: float | int | None, before: float | int | None,
          significant: bool | None = None) -> Delta | None:
    """Change vs an earlier value. A change within sampling noise (``significant`` False), or one that
    rounds to zero as shown, is flat grey: never a red or green arrow."""
    if now is None or before is None or isinstance(now, dict):
        return None
    change = now - before
    text = change_text(key, now, before)
    if shows_zero(text):
        return Delta(text, "▶", "flat")
    better = BY_KEY[key].higher_is_better if key in BY_KEY else None
    good = None if better is None or significant is False else (change > 0) == better
    arrow = "▲" if change > 0 else "▼"
    return Delta(text, arrow, "flat" if good is None else "good" if good else "bad")


def mom(scope: Scope, key: str) -> Delta | None:
    """The month-over-month change of a metric as the model holds it (grey when within noise)."""
    change = scope.change(key)
    return delta(key, scope.value(key), change.previous, change.significant)


def yoy(scope: Scope, key: str) -> Delta | None:
    """The change against the same month a year earlier (grey when within noise)."""
    change = scope.change(key)
    return delta(key, scope.value(key), change.year_ago, change.yoy_significant)


def display_source(location: str | None) -> str:
    """A data source or table location as the exec pack names it: its last part, never a server path.

    '/srv/exports/accounts.csv' -> 'accounts.csv'; '/data/cs.duckdb:accounts' -> 'cs.duckdb:accounts';
    'postgresql://db.internal/cs:accounts' -> 'cs:accounts'. The fingerprint identifies the exact data.
    """
    if not location:
        return "not provided"
    return location.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or location


# -- the MRR bridge in words and labels: shown parts that add up ------------------------------------
BRIDGE_STEPS = (("mrr_new", "new", 1), ("mrr_reactivation", "reactivation", 1), ("mrr_expansion", "expansion", 1),
                ("mrr_contraction", "contraction", -1), ("mrr_churned", "churned", -1))


@dataclass(frozen=True)
class BridgeFigures:
    """The MRR bridge rounded for people so that the shown figures add up exactly.

    ``start`` + Σ signed ``parts`` = ``end`` holds for the shown amounts, all in whole ``unit``s
    ($100 shown as '$141.6k' when MRR reaches $10k, else $1). Start and end are rounded
    normally; the parts by the largest-remainder rule, so each differs from its exact value by
    less than one unit and they still add up to the shown change.
    """

    unit: float
    start: int
    end: int
    parts: tuple[tuple[str, str, int], ...]  # (metric key, word, signed amount in units)

    @property
    def change(self) -> int:
        return self.end - self.start

    def text(self, units: int, signed: bool = False) -> str:
        """'$4,712.3k' or '$390'; with ``signed``: '+$141.6k', '−$24.2k' (a zero reads '+$0.0k')."""
        amount = abs(units) * self.unit
        shown = f"${amount / 1000:,.1f}k" if self.unit >= 100 else f"${amount:,.0f}"
        return (("−" if units < 0 else "+") + shown) if signed else shown


def bridge_figures(metrics: Mapping[str, Any]) -> BridgeFigures | None:
    """The bridge of ``metrics`` (mrr_start, the five movements, mrr_end) rounded to add up; None if one is null."""
    keys = ["mrr_start", "mrr_end"] + [key for key, _, _ in BRIDGE_STEPS]
    if any(metrics.get(key) is None for key in keys):
        return None
    unit = 100.0 if max(abs(metrics["mrr_start"]), abs(metrics["mrr_end"])) >= 10_000 else 1.0
    start, end = round(metrics["mrr_start"] / unit), round(metrics["mrr_end"] / unit)
    exact = [sign * metrics[key] / unit for key, _, sign in BRIDGE_STEPS]
    rounded = [round(x) for x in exact]
    # the identity makes Σ exact = end − start up to float noise; rounding may leave a few units over
    # or short: move the non-zero parts that rounding pushed furthest the other way, one unit each
    missing = (end - start) - sum(rounded)
    candidates = sorted((i for i, x in enumerate(exact) if x != 0), key=lambda i: exact[i] - rounded[i],
                        reverse=missing > 0)
    for i in candidates[:abs(missing)]:
        rounded[i] += 1 if missing > 0 else -1
    return BridgeFigures(unit, start, end, tuple((key, word, rounded[i])
                                                 for i, (key, word, _) in enumerate(BRIDGE_STEPS)))
