"""Health backtest (SPEC §3): did the health score of L = P − h months predict churn by P?

The population is the customers active in L, with their health for L (the same
health table as for any period, as of end(L)); a customer churned iff it is not
active in P.

  health_backtest_customers = # customers active in L (the population)
  health_backtest_churned = # of them not active in P (churned)
  health_backtest_auc = P(health_c < health_r) + ½ · P(health_c = health_r) over every
      (churned c, retained r) pair: the Mann–Whitney AUC of −health, on health rounded
      to 6 decimals as for bands (0–1; 0.5 = no better than chance, 1 = every churned
      customer scored below every retained one)
  health_backtest_green_churn_pct = 100 · churned / customers green at L (percent)
  health_backtest_amber_churn_pct = 100 · churned / customers amber at L (percent)
  health_backtest_red_churn_pct = 100 · churned / customers red at L (percent)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..periods import Period
from .base import MetricSet, in_set, pct
from .health import BANDS


def mann_whitney_auc(score: pd.Series, positive: pd.Series) -> float | None:
    """P(score of a positive > score of a negative) + ½ · P(equal), over all (positive, negative) pairs (0–1).

    From ranks in O(n log n): (R₊ − n₊(n₊ + 1)/2) / (n₊ · n₋), with R₊ the sum of the
    positives' average ranks in ascending score (average ranks count a tie as ½).
    ``score`` and ``positive`` are aligned by position. None when either group is empty.
    """
    is_positive = np.asarray(positive, dtype=bool)
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(np.asarray(score, dtype=float)).rank(method="average").to_numpy()
    return (float(ranks[is_positive].sum()) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def churned_by(population: pd.Series, active_now: set[str]) -> pd.Series:
    """Per account id of the population: True iff it is not active in P."""
    return pd.Series(~in_set(population, active_now), index=population.index, name=population.name)


def churn_pct_by_band(band: pd.Series, churned: pd.Series) -> dict[str, float | None]:
    """{band: 100 · churned / customers in that band at L} (percent); None for an empty band."""
    churned = np.asarray(churned, dtype=bool)
    band = np.asarray(band, dtype=object)
    return {b: pct(int(churned[band == b].sum()), int((band == b).sum())) for b in BANDS}


def backtest_metrics(population: pd.DataFrame, lookback: Period, period: Period) -> MetricSet:
    """Every health_backtest_* key from the population: one row per customer active in L with its
    health and band at L and whether it churned by P (columns health, band, churned)."""
    out = MetricSet()
    churned = population["churned"].astype(bool)
    out.put("health_backtest_customers", len(population))
    out.put("health_backtest_churned", int(churned.sum()))
    if population.empty:
        reason = f"no customers were active in {lookback}, the backtest month"
    elif not churned.any():
        reason = f"no customer active in {lookback} churned by {period}: no churned group to compare"
    else:
        reason = f"every customer active in {lookback} churned by {period}: no retained group to compare"
    # a lower health should mean more churn: rank by −health, rounded as for bands so float noise makes no order
    out.put("health_backtest_auc", mann_whitney_auc(-population["health"].round(6), churned), reason)
    for band, share in churn_pct_by_band(population["band"], churned).items():
        out.put(f"health_backtest_{band}_churn_pct", share, f"no customer active in {lookback} was {band} then")
    return out
