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


@pytest.mark.parametrize(("moment", "tz", "day"), [
    ("2026-11-25T03:00Z", "UTC", "2026-11-25"),  # mid-month: the month so far
    ("2026-11-30T23:59:59.999999Z", "UTC", "2026-11-30"),  # the last microsecond of November
    ("2026-12-01T00:00Z", "UTC", None),  # end(P) itself is December: over
    # New York is UTC-5 in December: 03:00Z is 22:00 on 30 November there, still November
    ("2026-12-01T03:00Z", "America/New_York", "2026-11-30"),
    # Auckland is UTC+13 (daylight time): 11:00Z on 30 November is midnight of 1 December there, over
    ("2026-11-30T10:59:59Z", "Pacific/Auckland", "2026-11-30"),
    ("2026-11-30T11:00Z", "Pacific/Auckland", None),
    ("2026-10-15T12:00Z", "UTC", "2026-10-15"),  # before November begins: the day is before start(P)
])
def test_a_month_is_unfinished_until_its_end_in_the_report_time_zone(moment, tz, day):
    from datetime import date

    made_on = Period(2026, 11).unfinished_on(pd.Timestamp(moment).to_pydatetime(), tz)
    assert made_on == (None if day is None else date.fromisoformat(day))


def test_the_default_period_is_the_last_month_over_in_the_report_time_zone():
    from datetime import UTC, datetime

    dec_1_0300z = datetime(2026, 12, 1, 3, tzinfo=UTC)
    assert str(Period.last_complete(dec_1_0300z)) == "2026-11"  # UTC: 1 December, November is over
    # Los Angeles is UTC-8: 19:00 on 30 November, so October is the last month over there
    assert str(Period.last_complete(dec_1_0300z, "America/Los_Angeles")) == "2026-10"
    # Auckland is UTC+13: 11:00Z on 30 November is already 1 December there
    assert str(Period.last_complete(datetime(2026, 11, 30, 11, tzinfo=UTC), "Pacific/Auckland")) == "2026-11"
    assert str(Period.last_complete(datetime(2026, 11, 30, 10, 59, tzinfo=UTC), "Pacific/Auckland")) == "2026-10"


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


def test_nps_bands_and_csat_threshold_have_one_home():
    scores = pd.Series([0, 6, 7, 8, 9, 10])
    assert list(surveys.nps_category(scores)) == ["detractor", "detractor", "passive", "passive",
                                                  "promoter", "promoter"]
    assert list(surveys.satisfied(pd.Series([1, 3, 4, 5]))) == [False, False, True, True]
    # health's feedback points follow the same bands: 6 -> detractor 0, 7 -> passive 50, 9 -> promoter 100
    end = pd.Timestamp("2026-04-01", tz="UTC")
    answers = pd.DataFrame({"account_id": ["X", "Y", "Z"], "survey": ["nps"] * 3, "score": [6, 7, 9],
                            "responded_at": pd.to_datetime(["2026-03-02"] * 3).tz_localize("UTC")})
    points = health.feedback_component(answers, pd.Index(["X", "Y", "Z", "W"]), end)
    assert list(points) == [0.0, 50.0, 100.0, 50.0]  # W answered nothing: 50


def test_support_csat_scores_only_csat_with_a_ticket():
    start, end = pd.Timestamp("2026-03-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC")
    answers = pd.DataFrame({
        "survey": ["csat", "csat", "csat", "nps", "ces", "csat"],
        "score": [5, 3, None, 10, 7, 4],
        "ticket_id": ["T1", "T2", None, "T3", "T4", "T5"],
        "responded_at": pd.to_datetime(["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06",
                                        "2026-04-01"]).tz_localize("UTC"),
    }).astype({"score": "Int64"}).dropna(subset=["score"])
    # in March with a ticket and CSAT: 5 (T1), 3 (T2); T5 answers at end(P): out; NPS/CES with tickets: out
    scores = surveys.support_csat_scores(answers, start, end)
    assert list(scores) == [5, 3]
    out = surveys.support_csat_metrics(answers, start, end).values
    assert out == {"support_csat_pct": 50.0, "support_csat_responses": 2}


def test_quick_ratio_by_hand():
    # (new 10 + reactivation 20 + expansion 30) / (contraction 15 + churned 45) = 60 / 60
    bridge = {"mrr_new": 10.0, "mrr_reactivation": 20.0, "mrr_expansion": 30.0, "mrr_contraction": 15.0,
              "mrr_churned": 45.0}
    assert revenue.quick_ratio(bridge) == pytest.approx(1.0)
    assert revenue.quick_ratio(bridge | {"mrr_contraction": 0.0, "mrr_churned": 0.0}) is None  # zero denominator
    assert revenue.quick_ratio(bridge | {"mrr_new": 0.0, "mrr_reactivation": 0.0, "mrr_expansion": 0.0}) == 0.0


def test_cohort_window_edges_and_reactivation():
    from csreport.metrics import cohorts

    # P = 2026-03: the window is 2025-03 … 2026-02
    rows = [("X", "2025-03", 100), ("X", "2026-03", 50),  # cohort 2025-03 (P-12): lapsed 11 months, back at P
            ("Y", "2025-02", 100), ("Y", "2025-03", 100),  # first month 2025-02 = P-13: out of the window
            ("Z", "2026-03", 70),  # first month P: out of the window
            ("P1", "2026-01", 100), ("P2", "2026-01", 100), ("P2", "2026-02", 300)]  # P1 leaves, P2 expands
    matrix = revenue.mrr_matrix(_rev(rows))
    logo = cohorts.cohort_logo_retention_pct(matrix, Period(2026, 3))
    mrr = cohorts.cohort_mrr_retention_pct(matrix, Period(2026, 3))
    assert list(logo) == ["2025-03", "2026-01"]
    # X: ages 0 … 12; active at age 0 and age 12 (reactivated, still cohort 2025-03)
    assert logo["2025-03"] == [100.0] + [0.0] * 11 + [100.0]
    assert mrr["2025-03"] == [100.0] + [0.0] * 11 + [50.0]
    # 2026-01 {P1, P2}: Feb only P2 -> 50 %; MRR 200 -> 300 = 150 % (no cap: expansion shows); Mar none
    assert logo["2026-01"] == [100.0, 50.0, 0.0]
    assert mrr["2026-01"] == [100.0, 150.0, 0.0]
    assert cohorts.cohort_months(matrix).to_dict() == {"P1": "2026-01", "P2": "2026-01", "X": "2025-03",
                                                       "Y": "2025-02", "Z": "2026-03"}


def test_cohorts_of_an_empty_revenue_table():
    from csreport.metrics import cohorts

    matrix = revenue.mrr_matrix(_rev([]))
    out = cohorts.cohort_metrics(matrix, Period(2026, 3))
    assert out.values == {"cohort_logo_retention_pct": None, "cohort_mrr_retention_pct": None}
    assert "2025-03 … 2026-02" in out.notes["cohort_logo_retention_pct"]


def test_auc_perfect_separator_ties_and_empty_groups():
    from csreport.metrics.backtest import mann_whitney_auc

    churned = pd.Series([True, True, False, False])
    # score = −health. Churned health 10, 20 below retained 30, 40: every pair ordered -> 1
    assert mann_whitney_auc(-pd.Series([10.0, 20.0, 30.0, 40.0]), churned) == 1.0
    # the other way round -> 0
    assert mann_whitney_auc(-pd.Series([30.0, 40.0, 10.0, 20.0]), churned) == 0.0
    # churned 50; retained 50 (tie: 1/2) and 60 (ordered: 1) -> 1.5 / 2
    assert mann_whitney_auc(-pd.Series([50.0, 50.0, 60.0]), pd.Series([True, False, False])) == 0.75
    # all tied -> 1/2
    assert mann_whitney_auc(pd.Series([7.0] * 4), churned) == 0.5
    assert mann_whitney_auc(pd.Series([1.0, 2.0]), pd.Series([False, False])) is None  # nobody churned
    assert mann_whitney_auc(pd.Series([1.0, 2.0]), pd.Series([True, True])) is None  # nobody retained


def test_backtest_metrics_round_health_and_empty_bands():
    from csreport.metrics.backtest import backtest_metrics

    population = pd.DataFrame({
        "account_id": ["a", "b", "c", "d"],
        # a and b differ only past the 6th decimal: a tie once rounded as for bands
        "health": [50.0000001, 50.0, 80.0, 20.0],
        "band": ["amber", "amber", "green", "red"],
        "churned": [True, False, False, True],
    })
    out = backtest_metrics(population, Period(2025, 12), Period(2026, 3))
    m = out.values
    assert (m["health_backtest_customers"], m["health_backtest_churned"]) == (4, 2)
    # churned a (50), d (20) vs retained b (50), c (80): a-b tie 1/2, a-c 1, d-b 1, d-c 1 -> 3.5 / 4
    assert m["health_backtest_auc"] == 0.875
    # green c kept -> 0 %; amber a, b: a churned -> 50 %; red d churned -> 100 %
    assert (m["health_backtest_green_churn_pct"], m["health_backtest_amber_churn_pct"],
            m["health_backtest_red_churn_pct"]) == (0.0, 50.0, 100.0)
    kept = backtest_metrics(population.assign(churned=False), Period(2025, 12), Period(2026, 3))
    assert kept.values["health_backtest_auc"] is None and "no churned group" in kept.notes["health_backtest_auc"]
    lost = backtest_metrics(population.assign(churned=True), Period(2025, 12), Period(2026, 3))
    assert lost.values["health_backtest_auc"] is None and "no retained group" in lost.notes["health_backtest_auc"]
    empty_bands = backtest_metrics(population[population["band"] == "amber"], Period(2025, 12), Period(2026, 3))
    assert empty_bands.values["health_backtest_green_churn_pct"] is None
    assert empty_bands.notes["health_backtest_red_churn_pct"] == "no customer active in 2025-12 was red then"


def test_backtest_reads_month_L_even_when_the_aggregates_cover_only_P(company):
    # aggregates of P alone lack L = P-1 (h = 1): L is queried, not read as "no events"
    from csreport.config import Config
    from csreport.data import load_dataset
    from csreport.metrics import compute_metrics

    config = Config(health={"backtest_months": 1})
    dataset = load_dataset(company, config, quiet=True)
    assert dataset.events is not None
    p = Period(2026, 3)
    full = compute_metrics(dataset, p, config)
    narrow = compute_metrics(dataset, p, config, dataset.events.aggregates(p, p))
    assert narrow.values == full.values
    # A's usage at L = 2026-02 comes from its one event on 02-28: 100 / 28
    usage = full.backtest.set_index("account_id")["usage"]
    assert usage["A"] == pytest.approx(100 / 28)


def test_a_missing_table_makes_every_catalog_key_of_it_not_available(tmp_path):
    from conftest import metrics_of, write_company

    from csreport.data.schema import TABLE_NAMES, TABLES
    from csreport.metrics import catalog

    src = write_company(tmp_path / "s", surveys=None, tickets=None, events=None, referrals=None, invoices=None)
    doc = metrics_of(src)
    optional = [name for name in TABLE_NAMES if not TABLES[name].required]
    assert {name: len(catalog.keys_of_table(name)) for name in optional} == \
        {"surveys": 11, "tickets": 5, "events": 11, "referrals": 3, "invoices": 0}
    for name in optional:
        for key in catalog.keys_of_table(name):
            assert doc["metrics"][key] is None, key
            assert doc["notes"][key] == f"not available: the data source has no {name} table", key


def test_a_key_added_to_the_catalog_is_not_available_with_its_table(monkeypatch):
    from csreport.metrics import catalog, referrals, support
    from csreport.metrics.base import MetricSet

    added = catalog.MetricInfo("tickets_reopened", "Reopened tickets", "count", False, "support", "tickets")
    monkeypatch.setattr(catalog, "CATALOG", (*catalog.CATALOG, added))
    start, end = pd.Timestamp("2026-03-01", tz="UTC"), pd.Timestamp("2026-04-01", tz="UTC")
    out = support.support_metrics(None, start, end, 48.0)
    assert list(out.values) == ["tickets_created", "frt_median_hours", "resolution_median_hours", "sla_met_pct",
                                "backlog_end", "tickets_reopened"]
    assert set(out.values.values()) == {None}
    assert set(out.notes.values()) == {"not available: the data source has no tickets table"}
    # every module answers a missing table the same way
    assert referrals.referral_metrics(None, set(), start, end) == MetricSet.table_missing("referrals")


def test_no_contraction_is_zero_not_negative_zero():
    # A 100 -> 150 (expansion 50), B 80 -> 80: no retained account lost MRR, so contraction is the empty sum
    rows = [("A", "2026-02", 100.0), ("A", "2026-03", 150.0), ("B", "2026-02", 80.0), ("B", "2026-03", 80.0)]
    bridge = revenue.mrr_bridge(revenue.movements(revenue.mrr_matrix(_rev(rows)), Period(2026, 3)))
    assert bridge["mrr_expansion"] == 50.0
    assert bridge["mrr_contraction"] == 0.0 and math.copysign(1.0, bridge["mrr_contraction"]) == 1.0  # not -0.0
