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

from ..memo import remembered
from ..periods import Period
from .base import MetricSet
from .catalog import COHORT_KEYS  # noqa: F401  (re-exported)

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


def window(matrix: pd.DataFrame, period: Period) -> tuple[pd.Series, pd.DataFrame]:
    """(cohort month of every account whose cohort is in P-12 … P-1, their MRR in months P-12 … P).

    The MRR of a month the data does not cover is 0. Remembered per matrix and period (both cohort
    keys read it), the cohort months per matrix.
    """
    return remembered(matrix, ("cohort_window", str(period)), lambda: _window(matrix, period))


def _window(matrix: pd.DataFrame, period: Period) -> tuple[pd.Series, pd.DataFrame]:
    cohorts = remembered(matrix, "cohort_months", lambda: cohort_months(matrix))
    months = [str(m) for m in period.shift(-WINDOW_MONTHS).range_to(period)]
    members = cohorts[(cohorts >= months[0]) & (cohorts < str(period))]
    return members, matrix.reindex(index=members.index, columns=months, fill_value=0.0)


def curves(totals: pd.DataFrame, base: pd.Series) -> Curves:
    """{cohort c: [100 · totals(c, c + k) / base(c) for k = 0 … P]} (percent), oldest cohort first.

    ``totals`` is cohorts × months; a cohort's curve starts at its own month.
    """
    # positions instead of label slices per cohort: the same numbers, without a pandas lookup each
    values = totals.to_numpy(dtype=float)
    row = {c: i for i, c in enumerate(totals.index)}
    column = {m: i for i, m in enumerate(totals.columns)}
    return {str(c): (100.0 * values[row[c], column[c]:] / float(base[c])).tolist() for c in sorted(totals.index)}


def cohort_logo_retention_pct(matrix: pd.DataFrame, period: Period) -> Curves | None:
    """{cohort 'YYYY-MM': [100 · #members active in c + k / n_c for k = 0 … P]} (percent)
    for the cohorts of P-12 … P-1; None if there is none."""
    members, mrr = window(matrix, period)
    if members.empty:
        return None
    return curves((mrr > 0).groupby(members).sum(), members.value_counts())


def cohort_mrr_retention_pct(matrix: pd.DataFrame, period: Period) -> Curves | None:
    """{cohort 'YYYY-MM': [100 · Σ mrr(a, c + k) / Σ mrr(a, c) for k = 0 … P]} (percent)
    for the cohorts of P-12 … P-1; None if there is none."""
    members, mrr = window(matrix, period)
    if members.empty:
        return None
    totals = mrr.groupby(members).sum()
    return curves(totals, pd.Series({c: totals.loc[c, c] for c in totals.index}))


def cohort_metrics(matrix: pd.DataFrame, period: Period) -> MetricSet:
    """Both cohort keys of SPEC §3 for ``period``.

    cohort_logo_retention_pct = per cohort month c in P-12 … P-1 (first month with mrr > 0): [100 · #accounts
        of c active in c + k / n_c for k = 0 … P] (percent)
    cohort_mrr_retention_pct  = per cohort month c in P-12 … P-1: [100 · Σ mrr(a, c + k) / Σ mrr(a, c) over
        the accounts of c, for k = 0 … P] (percent)
    """
    out = MetricSet()
    reason = f"no cohort in the window: no account's first active month is in {period.shift(-WINDOW_MONTHS)} … " \
             f"{period.previous}"
    out.put("cohort_logo_retention_pct", cohort_logo_retention_pct(matrix, period), reason)
    out.put("cohort_mrr_retention_pct", cohort_mrr_retention_pct(matrix, period), reason)
    return out
