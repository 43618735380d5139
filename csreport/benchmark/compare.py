"""Comparing a value with an earlier one: deltas and the significance of survey changes (SPEC §3, §4).

  mom_delta = value(P) − value(P−1);  yoy_delta = value(P) − value(P−12)  (metric units)
  significant (survey metrics only): |Δ| > 1.96 · sqrt(var₁/n₁ + var₂/n₂), with Δ and var in share
  units for NPS, CSAT, support CSAT and the promoter/detractor shares (Δ = points / 100), in score units for CES.

A delta is null when either value is null; significance is null without responses on both sides.
"""
from __future__ import annotations

from ..metrics.surveys import is_significant

# metric units per variance unit: NPS points and CSAT percent are 100 x shares
SIGNIFICANCE_SCALE = {"nps": 100.0, "csat_pct": 100.0, "ces_avg": 1.0, "nps_promoters_pct": 100.0,
                      "nps_detractors_pct": 100.0, "support_csat_pct": 100.0}


def delta(now: float | None, before: float | None) -> float | None:
    return None if now is None or before is None else now - before


def significance(key: str, now: float | None, n_now: int | None, var_now: float | None,
                 before: float | None, n_before: int | None, var_before: float | None) -> bool | None:
    """Whether ``now`` differs significantly from ``before`` (survey metrics only; else None)."""
    if key not in SIGNIFICANCE_SCALE or now is None or before is None:
        return None
    if not n_now or not n_before or var_now is None or var_before is None:
        return None
    return is_significant((now - before) / SIGNIFICANCE_SCALE[key], var_now, n_now, var_before, n_before)
