"""How metric values and changes read in the report and the email: '38', '79.3%', '$4.9M', '▲ +1.5 pp'."""
from __future__ import annotations

from ..metrics.catalog import BY_KEY

# the metrics an executive sees first: KPI tiles and the email summary
HEADLINE = ["nps", "csat_pct", "logo_churn_rate_pct", "grr_pct", "nrr_pct", "mrr_end", "customers_end",
            "health_green_pct"]


def money(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"${value / size:,.1f}{unit}"
    return f"${value:,.0f}"


def fmt(key: str, value) -> str:
    """A metric value for people: '38', '79.3%', '$4.9M', '3.0 h'."""
    if value is None:
        return "n/a"
    unit = BY_KEY[key].unit if key in BY_KEY else "count"
    if unit == "pct":
        return f"{value:.1f}%"
    if unit == "currency":
        return money(value)
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "days":
        return f"{value:.1f} d"
    if unit == "points":
        return f"{value:+.0f}" if key == "nps" else f"±{value:.1f}"
    if unit == "score":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def delta(key: str, now, before) -> dict | None:
    """Change vs the previous value: text, arrow and whether the change is good news."""
    if now is None or before is None:
        return None
    unit = BY_KEY[key].unit
    change = now - before
    if unit == "currency":
        text = f"{100 * change / before:+.1f}%" if before else money(change)
    elif unit == "pct":
        text = f"{change:+.1f} pp"
    elif unit in ("points", "score", "hours", "days"):
        text = f"{change:+.1f}"
    else:
        text = f"{change:+,.0f}"
    better = BY_KEY[key].higher_is_better
    good = None if better is None or abs(change) < 1e-12 else (change > 0) == better
    arrow = "▲" if change > 1e-12 else "▼" if change < -1e-12 else "▶"
    return {"text": text, "arrow": arrow, "tone": "flat" if good is None else "good" if good else "bad"}
