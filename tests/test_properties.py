"""Identities that must hold for any revenue history, and for the backtest AUC (hypothesis)."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csreport.metrics import cohorts, revenue
from csreport.metrics.backtest import mann_whitney_auc
from csreport.periods import Period

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04"]
mrr_values = st.one_of(st.just(0.0), st.integers(1, 10_000).map(float))
histories = st.lists(st.lists(mrr_values, min_size=4, max_size=4), min_size=0, max_size=12)


def _frame(history):
    rows = [(f"A{i}", m, v) for i, values in enumerate(history)
            for m, v in zip(MONTHS, values, strict=True) if v or i % 2]
    return pd.DataFrame(rows, columns=["account_id", "month", "mrr"]).astype({"mrr": float})


@settings(max_examples=150, deadline=None)
@given(histories)
def test_mrr_bridge_identity(history):
    m = revenue.revenue_metrics(revenue.mrr_matrix(_frame(history)), Period(2026, 4), 0.8).values
    rebuilt = (m["mrr_start"] + m["mrr_new"] + m["mrr_reactivation"] + m["mrr_expansion"] - m["mrr_contraction"]
               - m["mrr_churned"])
    assert rebuilt == pytest.approx(m["mrr_end"])
    assert m["customers_end"] == (m["customers_start"] + m["customers_new"] + m["customers_reactivated"]
                                  - m["customers_churned"])


@settings(max_examples=150, deadline=None)
@given(histories)
def test_retention_is_100_minus_churn_and_grr_bounds(history):
    m = revenue.revenue_metrics(revenue.mrr_matrix(_frame(history)), Period(2026, 4), 0.8).values
    if m["customers_start"] == 0:
        assert m["logo_churn_rate_pct"] is None and m["customer_retention_rate_pct"] is None
        return
    assert m["customer_retention_rate_pct"] == pytest.approx(100 - m["logo_churn_rate_pct"])
    if m["mrr_start"] > 0:
        assert 0 <= m["grr_pct"] <= 100 + 1e-9
        assert m["grr_pct"] <= m["nrr_pct"] + 1e-9


@settings(max_examples=150, deadline=None)
@given(histories, st.sampled_from([Period(2026, 2), Period(2026, 3), Period(2026, 4), Period(2026, 5)]))
def test_cohort_retention_is_100_at_age_0(history, period):
    matrix = revenue.mrr_matrix(_frame(history))
    for curves in (cohorts.cohort_logo_retention_pct(matrix, period), cohorts.cohort_mrr_retention_pct(matrix, period)):
        if curves is None:
            continue
        for cohort, curve in curves.items():
            assert curve[0] == pytest.approx(100.0)
            # one value per age 0 … months from the cohort to P
            assert len(curve) == len(Period.parse(cohort).range_to(period))
    logo = cohorts.cohort_logo_retention_pct(matrix, period) or {}
    assert all(0 <= share <= 100 for curve in logo.values() for share in curve)


scores = st.lists(st.tuples(st.integers(0, 20).map(float), st.booleans()), min_size=0, max_size=40)


def _brute_force_auc(pairs):
    """P(positive score > negative score) + ½ P(tie), over every pair: the O(n²) definition."""
    pos = [s for s, p in pairs if p]
    neg = [s for s, p in pairs if not p]
    if not pos or not neg:
        return None
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg) / (len(pos) * len(neg))


@settings(max_examples=200, deadline=None)
@given(scores)
def test_auc_bounds_symmetry_and_definition(pairs):
    score = pd.Series([s for s, _ in pairs], dtype=float)
    positive = pd.Series([p for _, p in pairs], dtype=bool)
    auc = mann_whitney_auc(score, positive)
    expected = _brute_force_auc(pairs)
    if expected is None:
        assert auc is None
        return
    assert 0.0 <= auc <= 1.0
    assert auc == pytest.approx(expected)
    assert mann_whitney_auc(-score, positive) == pytest.approx(1.0 - auc)
