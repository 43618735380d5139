"""Unit tests of the pure metric functions on tiny hand-made inputs."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from csreport.metrics import health, revenue, surveys
from csreport.periods import Period


def test_nps_with_only_passives():
    scores = pd.Series([7, 8, 7])
    assert surveys.nps(scores) == 0.0
    assert surveys.nps_shares(scores) == (0.0, 0.0)
    assert surveys.nps_moe95(scores) == 0.0


def test_nps_and_margin_of_error():
    scores = pd.Series([10, 10, 10, 5])  # p = 3/4, d = 1/4
    assert surveys.nps(scores) == pytest.approx(50.0)
    # var = 0.75 + 0.25 - 0.5^2 = 0.75; moe = 196 * sqrt(0.75 / 4) = 84.87...
    assert surveys.nps_moe95(scores) == pytest.approx(196 * math.sqrt(0.75 / 4))
    assert surveys.nps(pd.Series([], dtype=int)) is None


def test_significance_by_hand():
    # NPS 1: p .5 d .2 -> var .7 - .09 = .61; NPS 2: p .4 d .3 -> var .7 - .01 = .69; delta = .3 - .1 = .2
    # n = 100: 1.96 * sqrt(.0061 + .0069) = 0.2235 > .2 -> not significant
    assert surveys.is_significant(0.2, 0.61, 100, 0.69, 100) is False
    # n = 200: 1.96 * sqrt(.00305 + .00345) = 0.1580 < .2 -> significant
    assert surveys.is_significant(0.2, 0.61, 200, 0.69, 200) is True
    assert surveys.is_significant(0.2, 0.61, 0, 0.69, 200) is None
    assert surveys.nps_variance(0.5, 0.2) == pytest.approx(0.61)


def test_cltv():
    # arpa 100, margin 0.8, mean churn (10 + 20 + 30) / 3 = 20 % -> 100 * 0.8 / 0.2 = 400
    assert revenue.cltv(100.0, [10.0, 20.0, 30.0], 0.8) == pytest.approx(400.0)
    assert revenue.cltv(100.0, [0.0, 0.0, 0.0], 0.8) is None
    assert revenue.cltv(100.0, [10.0, None, 30.0], 0.8) is None


def _rev(rows):
    return pd.DataFrame(rows, columns=["account_id", "month", "mrr"]).astype({"mrr": float})


def test_cltv_from_three_months_of_churn():
    # K4 churns in January: Jan 1/4 = 25 %, Feb 0/3, Mar 0/3 -> c = 25/3 %; ARPA 300/3 = 100
    rows = [(k, m, 100) for k in ("K1", "K2", "K3") for m in ("2025-12", "2026-01", "2026-02", "2026-03")]
    rows += [("K4", "2025-12", 100)]
    out = revenue.revenue_metrics(revenue.mrr_matrix(_rev(rows)), Period(2026, 3), gross_margin=0.8)
    assert out.values["cltv"] == pytest.approx(100 * 0.8 / ((25 / 3) / 100))  # 960


def test_ttm_retention():
    # base 2025-03: X 100, Y 200 (Z not active) ; 2026-03: X 150, Y 50, Z 500
    rows = [("X", "2025-03", 100), ("Y", "2025-03", 200), ("X", "2026-03", 150), ("Y", "2026-03", 50),
            ("Z", "2026-03", 500)]
    grr, nrr = revenue.ttm_retention_pct(revenue.mrr_matrix(_rev(rows)), Period(2026, 3))
    assert grr == pytest.approx(100 * (100 + 50) / 300)
    assert nrr == pytest.approx(100 * (150 + 50) / 300)


def test_health_band_boundaries_round_to_six_decimals():
    scores = pd.Series([75.0, 74.9999999, 74.99999, 50.0, 49.99999999, 49.9999])
    assert list(health.band(scores, 75, 50)) == ["green", "green", "amber", "amber", "amber", "red"]


def test_health_weakest_component_and_rescaling():
    components = pd.DataFrame({"usage": [20.0], "feedback": [50.0]}, index=["A"])
    weights = {"usage": 0.4, "feedback": 0.3, "support": 0.2, "payment": 0.1}
    scored = health.health_scores(components, weights, 75, 50)
    # only usage and feedback: (0.4 * 20 + 0.3 * 50) / 0.7
    assert scored.loc["A", "health"] == pytest.approx((8 + 15) / 0.7)
    assert scored.loc["A", "weakest"] == "usage"


def test_period_arithmetic():
    p = Period.parse("2026-01")
    assert str(p.previous) == "2025-12" and str(p.shift(-12)) == "2025-01" and p.days == 31
    assert Period(2024, 2).days == 29
    assert p.end("UTC") == pd.Timestamp("2026-02-01", tz="UTC")
    assert [str(x) for x in Period(2025, 11).range_to(Period(2026, 2))] == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_sla_boundaries_exactly_at_sla_hours():
    from csreport.metrics import support

    end = pd.Timestamp("2026-04-01", tz="UTC")
    tickets = pd.DataFrame({
        "ticket_id": ["met-at-48h", "open-48h-old", "open-48h-1s-old", "late-by-1s"],
        "created_at": pd.to_datetime(["2026-03-10 00:00:00", "2026-03-30 00:00:00", "2026-03-29 23:59:59",
                                      "2026-03-10 00:00:00"]).tz_localize("UTC"),
        "resolved_at": pd.to_datetime(["2026-03-12 00:00:00", None, None, "2026-03-12 00:00:01"]).tz_localize("UTC"),
    })
    outcome = support.sla_outcome(tickets, end, 48.0)
    # resolved after exactly 48 h: met (<=); open exactly 48 h at end(P): not counted (needs > 48 h);
    # open 48 h + 1 s: missed; resolved after 48 h + 1 s: missed
    assert list(outcome.astype(object).where(outcome.notna(), None)) == [True, None, False, False]
    assert support.sla_met_pct(tickets, pd.Timestamp("2026-03-01", tz="UTC"), end, 48.0) == pytest.approx(100 / 3)
