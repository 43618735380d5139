"""Comparison with history: previous value, MoM and YoY deltas, significance (SPEC §3, §4).

  mom_delta = value(P) − value(P−1);  yoy_delta = value(P) − value(P−12)  (metric units)
  significant (nps, csat_pct, ces_avg only): |Δ| > 1.96 · sqrt(var₁/n₁ + var₂/n₂), Δ and var
  in share units for NPS and CSAT (Δ = points / 100), in score units for CES.
Deltas are null when the history lacks the period or either value is null.
"""
from __future__ import annotations

from ..metrics.catalog import KEYS
from ..metrics.surveys import is_significant
from ..periods import Period

# metric units per variance unit: NPS points and CSAT percent are 100 x shares
SIGNIFICANCE_SCALE = {"nps": 100.0, "csat_pct": 100.0, "ces_avg": 1.0}


def _delta(now, before) -> float | None:
    return None if now is None or before is None else now - before


def significance(key: str, now, stats_now: tuple | None, before, stats_before: tuple | None) -> bool | None:
    if key not in SIGNIFICANCE_SCALE or now is None or before is None or not stats_now or not stats_before:
        return None
    (n1, var1), (n0, var0) = stats_now, stats_before
    if not n1 or not n0 or var1 is None or var0 is None:
        return None
    return is_significant((now - before) / SIGNIFICANCE_SCALE[key], var1, n1, var0, n0)


def comparison(period: Period, values: dict, stats: dict, history: dict[str, dict[str, tuple]]) -> dict:
    """{metric: {previous, mom_delta, yoy_delta, significant}} from the history rows of P-1 and P-12."""
    last_month = history.get(str(period.previous), {})
    last_year = history.get(str(period.shift(-12)), {})
    out = {}
    for key in KEYS:
        now = values.get(key)
        if isinstance(now, dict):
            continue  # feature adoption: per-feature history only
        before, n0, var0 = last_month.get(key, (None, None, None))
        year_ago = last_year.get(key, (None, None, None))[0]
        out[key] = {
            "previous": before,
            "mom_delta": _delta(now, before),
            "yoy_delta": _delta(now, year_ago),
            "significant": significance(key, now, stats.get(key), before, (n0, var0) if key in last_month else None),
        }
    return out
