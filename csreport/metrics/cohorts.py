"""Cohort retention (SPEC §3, from ``revenue``), on the MRR matrix of :mod:`csreport.metrics.revenue`.

cohort(a) = the first month with mrr(a, m) > 0 over all the data; a reactivated
account stays in its first cohort. For each cohort month c in P-12 … P-1 with
n_c ≥ 1 accounts, at every age k = 0 … (months from c to P):

  logo retention(c, k) = 100 · #accounts of the cohort active in c + k / n_c     (percent)
  MRR retention(c, k)  = 100 · Σ mrr(a, c + k) / Σ mrr(a, c) over the cohort    (percent)

Neither has a zero denominator: every member is active in c, so n_c ≥ 1 and
Σ mrr(a, c) > 0, and both curves start at 100. The result maps 'YYYY-MM' to the
list [age 0, age 1, …, age at P], oldest cohort first; None when no cohort is in
the window.
"""
from __future__ import annotations

import pandas as pd

from ..periods import Period
from .base import MetricSet
from .revenue import mrr_by_account

COHORT_KEYS = ("cohort_logo_retention_pct", "cohort_mrr_retention_pct")
WINDOW_MONTHS = 12  # cohorts P-12 … P-1

Curves = dict[str, list[float]]


def cohort_months(matrix: pd.DataFrame) -> pd.Series:
    """cohort(a) = the first month 'YYYY-MM' with mrr > 0, for every account that was ever active."""
    active = matrix > 0
    ever = active.any(axis=1)
    if not ever.any():
        return pd.Series([], index=pd.Index([], name="account_id", dtype=object), dtype=object)
    # the matrix columns are sorted months, so the first True is the first active month
    return active[ever].idxmax(axis=1)


def cohort_mrr(matrix: pd.DataFrame, period: Period) -> dict[str, pd.DataFrame]:
    """{cohort month c in P-12 … P-1: its members × months c … P of MRR (currency/month)}.

    Cohorts without accounts are left out; the MRR of a month the data does not cover is 0.
    """
    cohorts = cohort_months(matrix)
    out = {}
    for k in range(WINDOW_MONTHS, 0, -1):
        first = period.shift(-k)
        members = cohorts.index[cohorts == str(first)]
        if len(members):
            out[str(first)] = pd.DataFrame({str(m): mrr_by_account(matrix, m).reindex(members, fill_value=0.0)
                                            for m in first.range_to(period)})
    return out


def logo_retention_pct(grid: pd.DataFrame) -> list[float]:
    """Per age k: 100 · #members active (mrr > 0) in c + k / n_c (percent); ``grid`` = members × months c … P."""
    return [100.0 * float((grid[month] > 0).sum()) / len(grid) for month in grid.columns]


def mrr_retention_pct(grid: pd.DataFrame) -> list[float]:
    """Per age k: 100 · Σ mrr(a, c + k) / Σ mrr(a, c) over the members (percent)."""
    base = float(grid.iloc[:, 0].sum())
    return [100.0 * float(grid[month].sum()) / base for month in grid.columns]


def cohort_logo_retention_pct(matrix: pd.DataFrame, period: Period) -> Curves | None:
    """{cohort 'YYYY-MM': logo retention at ages 0 … P} for the cohorts of P-12 … P-1; None if there is none."""
    curves = {c: logo_retention_pct(grid) for c, grid in cohort_mrr(matrix, period).items()}
    return curves or None


def cohort_mrr_retention_pct(matrix: pd.DataFrame, period: Period) -> Curves | None:
    """{cohort 'YYYY-MM': MRR retention at ages 0 … P} for the cohorts of P-12 … P-1; None if there is none."""
    curves = {c: mrr_retention_pct(grid) for c, grid in cohort_mrr(matrix, period).items()}
    return curves or None


def cohort_metrics(matrix: pd.DataFrame, period: Period) -> MetricSet:
    """Both cohort keys of SPEC §3 for ``period``."""
    out = MetricSet()
    reason = f"no cohort in the window: no account's first active month is in {period.shift(-WINDOW_MONTHS)} … " \
             f"{period.previous}"
    out.put("cohort_logo_retention_pct", cohort_logo_retention_pct(matrix, period), reason)
    out.put("cohort_mrr_retention_pct", cohort_mrr_retention_pct(matrix, period), reason)
    return out
