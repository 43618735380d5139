"""Identities that must hold for any revenue history (hypothesis)."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csreport.metrics import revenue
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
