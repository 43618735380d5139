"""Every SPEC §3 metric on the hand-computed company of conftest.py (period 2026-03).

Each expected value is derived in the comment above it from the fixture rows,
not from the code under test.
"""
from __future__ import annotations

import math

import pytest
from conftest import metrics_of, write_company


@pytest.fixture
def m(march):
    return march["metrics"]


def test_customer_counts_new_reactivated_churned(m):
    # Feb active: A, B, E, F -> 4. Mar active: A, B, C, D, F -> 5.
    # D first active in March -> new. C active Jan, not Feb, Mar -> reactivated. E Feb only -> churned.
    assert m["customers_start"] == 4
    assert m["customers_end"] == 5
    assert m["customers_new"] == 1
    assert m["customers_reactivated"] == 1
    assert m["customers_churned"] == 1
    assert m["logo_churn_rate_pct"] == pytest.approx(100 * 1 / 4)  # 25.0
    assert m["customer_retention_rate_pct"] == pytest.approx(100 * (5 - 1 - 1) / 4)  # 75.0


def test_mrr_bridge_with_expansion_and_contraction_in_same_month(m):
    # start 100+200+300+10 = 610; end 150+120+70+40+10 = 390
    assert m["mrr_start"] == 610
    assert m["mrr_end"] == 390
    assert m["mrr_expansion"] == 50  # A 100 -> 150
    assert m["mrr_contraction"] == 80  # B 200 -> 120
    assert m["mrr_new"] == 40  # D
    assert m["mrr_reactivation"] == 70  # C
    assert m["mrr_churned"] == 300  # E's February MRR
    assert m["mrr_end"] == 610 + 40 + 70 + 50 - 80 - 300
    assert m["grr_pct"] == pytest.approx(100 * (610 - 80 - 300) / 610)  # 37.70...
    assert m["nrr_pct"] == pytest.approx(100 * (610 + 50 - 80 - 300) / 610)  # 45.90...
    assert m["arpa"] == pytest.approx(390 / 5)


def test_ttm_and_cltv_null_with_reasons(march):
    doc = march
    # no revenue in 2025-03 -> no TTM base; January's churn has no December base -> CLTV null
    assert doc["metrics"]["grr_ttm_pct"] is None and "2025-03" in doc["notes"]["grr_ttm_pct"]
    assert doc["metrics"]["cltv"] is None and "unknown" in doc["notes"]["cltv"]


def test_surveys(m):
    # March NPS: A 9, B 10, B 6, C 8 (the 00:00 April answer is out) -> n 4, p 2/4, d 1/4
    assert m["nps_responses"] == 4
    assert m["nps"] == pytest.approx(100 * (0.5 - 0.25))
    assert m["nps_promoters_pct"] == pytest.approx(50.0)
    assert m["nps_detractors_pct"] == pytest.approx(25.0)
    assert m["nps_moe95"] == pytest.approx(196 * math.sqrt((0.5 + 0.25 - 0.25**2) / 4))
    # CSAT 5, 4, 3, 2, 4 -> 3 of 5 are >= 4
    assert m["csat_pct"] == pytest.approx(60.0)
    assert m["csat_responses"] == 5
    # CES 7, 5, 6 -> 6
    assert m["ces_avg"] == pytest.approx(6.0)
    assert m["ces_responses"] == 3


def test_support(m):
    # created in March: T1 T2 T3 T4 T6
    assert m["tickets_created"] == 5
    # responses before end: T1 2h, T2 6h, T6 1h (T4's answer lands at end(P): no response) -> median 2
    assert m["frt_median_hours"] == pytest.approx(2.0)
    # resolved in March: T1 24h, T2 72h, T5 96h (created in Feb) -> median 72
    assert m["resolution_median_hours"] == pytest.approx(72.0)
    # met T1; missed T2 (72h > 48) and T4 (open 22 days); T3 (open 36h) and T6 (resolved after end, 24h old) left out
    assert m["sla_met_pct"] == pytest.approx(100 * 1 / 3)
    # open at end: T3, T4, T6 (resolved after end), T8 (since Feb)
    assert m["backlog_end"] == 4


def test_engagement_month_boundaries(m):
    # users (account, user): A/u1, A/u2, B/u1, G/u9 -> 4 (B/u1 differs from A/u1)
    assert m["mau"] == 4
    # one user on each of Mar 1, Mar 2, Mar 15, Mar 31 -> 4 user-days over 31 days
    assert m["dau_avg"] == pytest.approx(4 / 31)
    assert m["stickiness_pct"] == pytest.approx(100 * (4 / 31) / 4)
    # customers A B C D F; with events A and B -> 2 / 5
    assert m["active_accounts_pct"] == pytest.approx(40.0)
    # of the 2 customers with events: login A, search A, export B (G is no customer)
    assert m["feature_adoption_pct"] == pytest.approx({"login": 50.0, "search": 50.0, "export": 50.0})


def test_referrals(m):
    # March referrals R1 (A, converted) R2 (A) R3 (G, converted); R4 is in April
    assert m["referrals"] == 3
    assert m["referral_conversion_pct"] == pytest.approx(100 * 2 / 3)
    # referrers among the 5 customers: A only
    assert m["referral_rate_pct"] == pytest.approx(100 * 1 / 5)


def test_onboarding(m):
    # signup in [2026-01-30, 2026-03-02): O1 (29 days, done) O2 (30 days, done) O3 (35 days) O6 (never)
    assert m["onboarding_completion_pct"] == pytest.approx(50.0)
    # onboarded in March: O2 after 30 days, O4 after 3 days -> median (3 + 30) / 2
    assert m["onboarding_median_days"] == pytest.approx(16.5)


def test_health(march):
    doc = march
    m = doc["metrics"]
    # A: usage 2 of 31 days, feedback latest NPS 9 -> 100, support T1 met T2 missed -> 50,
    #    payment I1 on time, I2 late, I3 paid after end -> 1/3
    a = 0.4 * 100 * 2 / 31 + 0.3 * 100 + 0.2 * 50 + 0.1 * 100 / 3
    # B: usage 1 day, feedback tie 10 vs 6 at the same time -> 6 -> 0, support none counted -> 100, I5 on time -> 100
    b = 0.4 * 100 * 1 / 31 + 0 + 0.2 * 100 + 0.1 * 100
    # C: no events, NPS 8 -> 50, T4 missed -> 0, no invoices -> 100
    c = 0 + 0.3 * 50 + 0 + 0.1 * 100
    # D: no events, no NPS -> 50, T5 created in Feb -> 100, -> 100
    d = 0 + 0.3 * 50 + 0.2 * 100 + 0.1 * 100
    # F: no events, NPS 10 in January -> 100, T6 not counted -> 100, -> 100
    f = 0 + 0.3 * 100 + 0.2 * 100 + 0.1 * 100
    assert m["health_avg"] == pytest.approx((a + b + c + d + f) / 5)
    assert (a, b, c, d, f) == pytest.approx((45.9139785, 31.2903226, 25.0, 45.0, 60.0))
    assert m["health_green_pct"] == 0.0
    assert m["health_amber_pct"] == pytest.approx(20.0)  # F
    assert m["health_red_pct"] == pytest.approx(80.0)


def test_empty_period(company):
    # 2026-06: nobody active, nothing happened
    doc = metrics_of(company, "2026-06")
    m, notes = doc["metrics"], doc["notes"]
    assert m["customers_start"] == 0 and m["customers_end"] == 0
    assert m["logo_churn_rate_pct"] is None and "zero denominator" in notes["logo_churn_rate_pct"]
    assert m["grr_pct"] is None and m["nrr_pct"] is None
    assert m["nps"] is None and m["nps_responses"] == 0 and "no NPS responses" in notes["nps"]
    assert m["csat_pct"] is None and m["ces_avg"] is None
    assert m["tickets_created"] == 0 and m["frt_median_hours"] is None
    # T3, T4, T8 never resolved; T6 resolved 2026-04-02 -> 3 open at the end of June
    assert m["backlog_end"] == 3
    assert m["mau"] == 0 and m["dau_avg"] == 0.0 and m["stickiness_pct"] is None
    assert m["feature_adoption_pct"] is None
    assert m["referrals"] == 0 and m["referral_conversion_pct"] is None
    assert m["health_avg"] is None and notes["health_avg"]


def test_new_account_only_and_reactivation_counts(tmp_path):
    # April: A 150 -> 0 (churn), D 40 -> 40, new H, reactivated E (active Feb, not Mar)
    revenue = [("A", "2026-03", 150), ("D", "2026-03", 40), ("D", "2026-04", 40), ("E", "2026-02", 300),
               ("E", "2026-04", 250), ("H", "2026-04", 90)]
    accounts = [("A", "A", "SMB", "2025-01-01", ""), ("D", "D", "SMB", "2025-01-01", ""),
                ("E", "E", "SMB", "2025-01-01", ""), ("H", "H", "SMB", "2026-04-02", "")]
    src = write_company(tmp_path / "s", accounts=accounts, revenue=revenue, surveys=None, tickets=None,
                        events=None, referrals=None, invoices=None)
    m = metrics_of(src, "2026-04")["metrics"]
    assert (m["customers_start"], m["customers_end"]) == (2, 3)
    assert (m["customers_new"], m["customers_reactivated"], m["customers_churned"]) == (1, 1, 1)
    assert (m["mrr_new"], m["mrr_reactivation"], m["mrr_churned"]) == (90, 250, 150)
    assert m["customer_retention_rate_pct"] == pytest.approx(100 * (3 - 1 - 1) / 2)


def test_missing_optional_tables_are_not_available_not_zero(tmp_path):
    src = write_company(tmp_path / "s", surveys=None, tickets=None, events=None, referrals=None, invoices=None)
    doc = metrics_of(src)
    for key in ("nps", "nps_responses", "tickets_created", "backlog_end", "mau", "referrals"):
        assert doc["metrics"][key] is None, key
        assert "not available" in doc["notes"][key]
    # no health component has a table left: health is not available either
    assert doc["metrics"]["health_avg"] is None and "not available" in doc["notes"]["health_avg"]


def test_health_without_events_uses_remaining_components_rescaled(tmp_path):
    src = write_company(tmp_path / "s", events=None)
    doc = metrics_of(src)
    # weights 0.3/0.2/0.1 rescaled by 1/0.6. A: feedback 100, support 50, payment 100/3
    a = (0.3 * 100 + 0.2 * 50 + 0.1 * 100 / 3) / 0.6
    b = (0.3 * 0 + 0.2 * 100 + 0.1 * 100) / 0.6  # 50
    c = (0.3 * 50 + 0.2 * 0 + 0.1 * 100) / 0.6
    d = (0.3 * 50 + 0.2 * 100 + 0.1 * 100) / 0.6
    f = (0.3 * 100 + 0.2 * 100 + 0.1 * 100) / 0.6  # 100
    assert doc["metrics"]["health_avg"] == pytest.approx((a + b + c + d + f) / 5)
    assert "usage" in doc["notes"]["health_avg"]


def test_metrics_json_layout(march):
    doc = march
    assert doc["period"] == "2026-03"
    assert set(doc) >= {"period", "metrics", "status", "notes"}
    from csreport.metrics import KEYS

    assert list(doc["metrics"]) == list(KEYS)
    assert set(doc["status"]) == set(KEYS)
    # every null carries a reason
    assert {k for k, v in doc["metrics"].items() if v is None} <= set(doc["notes"])


def assert_curves(actual: dict, expected: dict) -> None:
    """Cohort curves equal to 1e-6, cohorts in the same order (oldest first)."""
    assert list(actual) == list(expected)
    for cohort, curve in expected.items():
        assert actual[cohort] == pytest.approx(curve, abs=1e-6), cohort


def test_quick_ratio_and_cohorts(march):
    m = march["metrics"]
    # gained new 40 (D) + reactivation 70 (C) + expansion 50 (A); lost contraction 80 (B) + churned 300 (E)
    assert m["quick_ratio"] == pytest.approx((40 + 70 + 50) / (80 + 300))  # 0.421...
    # cohorts in 2025-03 … 2026-02: A B C F first active 2026-01, E 2026-02 (D's first month is March: out)
    # 2026-01: Jan A B C F 4/4; Feb A B F 3/4 (C lapsed); Mar A B C F 4/4 (reactivated C stays in its cohort)
    assert_curves(m["cohort_logo_retention_pct"], {"2026-01": [100.0, 75.0, 100.0], "2026-02": [100.0, 0.0]})
    # MRR base 100 + 200 + 50 + 10 = 360; Feb 100 + 200 + 10 = 310; Mar 150 + 120 + 70 + 10 = 350; E 300 -> 0
    assert_curves(m["cohort_mrr_retention_pct"],
                  {"2026-01": [100.0, 100 * 310 / 360, 100 * 350 / 360], "2026-02": [100.0, 0.0]})


def test_no_cohort_in_window_and_nothing_lost(company):
    # January: the window 2025-01 … 2025-12 holds no first month; nothing was active in December
    doc = metrics_of(company, "2026-01")
    m, notes = doc["metrics"], doc["notes"]
    assert m["cohort_logo_retention_pct"] is None and "no cohort in the window" in notes["cohort_logo_retention_pct"]
    assert m["cohort_mrr_retention_pct"] is None and "no cohort" in notes["cohort_mrr_retention_pct"]
    # January: A B C F all new, nothing lost -> (mrr_contraction + mrr_churned) = 0
    assert m["quick_ratio"] is None and "zero denominator" in notes["quick_ratio"]


def test_support_csat_without_ticket_id_column(march):
    doc = march
    for key in ("support_csat_pct", "support_csat_responses"):
        assert doc["metrics"][key] is None
        assert doc["notes"][key] == "not available: surveys has no ticket_id column"


def test_support_csat_with_ticket_ids(company_with_ticket_ids):
    m = metrics_of(company_with_ticket_ids)["metrics"]
    # March CSAT with a ticket: S8 5 (T1), S9 4 (T2), S10 3 (T3), S11 2 (T4) -> 2 of 4 score >= 4;
    # S12 has no ticket; S2 (NPS) and S13 (CES) name a ticket but are not CSAT
    assert m["support_csat_responses"] == 4
    assert m["support_csat_pct"] == pytest.approx(50.0)
    assert m["csat_pct"] == pytest.approx(60.0) and m["csat_responses"] == 5  # every CSAT response, as before


def test_support_csat_no_ticket_responses_in_period(company_with_ticket_ids):
    # June: no survey answers at all -> 0 responses, share over 0 is null
    doc = metrics_of(company_with_ticket_ids, "2026-06")
    assert doc["metrics"]["support_csat_responses"] == 0
    assert doc["metrics"]["support_csat_pct"] is None and "no CSAT response" in doc["notes"]["support_csat_pct"]


def test_health_backtest_default_three_months_has_no_population(march):
    m, notes = march["metrics"], march["notes"]
    # L = 2025-12: nobody was active
    assert (m["health_backtest_customers"], m["health_backtest_churned"]) == (0, 0)
    assert m["health_backtest_auc"] is None and "2025-12" in notes["health_backtest_auc"]
    for band in ("green", "amber", "red"):
        assert m[f"health_backtest_{band}_churn_pct"] is None


def test_health_backtest_one_month(company, tmp_path):
    config_path = tmp_path / "c.yaml"
    config_path.write_text("health: {backtest_months: 1}\n")
    doc = metrics_of(company, "2026-03", "--config", str(config_path))
    m, notes = doc["metrics"], doc["notes"]
    # L = 2026-02 (28 days, end 2026-03-01): customers A B E F; E is not active in March -> churned
    # A: usage 1 day (02-28 23:59:59) of 28; NPS 3 (2025-06) -> 0; no Feb ticket -> 100; I1 on time, I2 late -> 50
    a = 0.4 * 100 / 28 + 0.3 * 0 + 0.2 * 100 + 0.1 * 50  # 26.43 red
    # B: no events; no NPS -> 50; T8 open 9 days at end(L) -> missed -> 0; I4 unpaid -> 0
    b = 0 + 0.3 * 50 + 0.2 * 0 + 0.1 * 0  # 15 red
    e = 0 + 0.3 * 50 + 0.2 * 100 + 0.1 * 100  # 45 red
    f = 0 + 0.3 * 100 + 0.2 * 100 + 0.1 * 100  # NPS 10 in January: 60 amber
    assert (a, b, e, f) == pytest.approx((26.4285714, 15.0, 45.0, 60.0))
    assert (m["health_backtest_customers"], m["health_backtest_churned"]) == (4, 1)
    # pairs (E, retained): 45 < 60 (F) counts 1; 45 > 26.4 (A) and 45 > 15 (B) count 0 -> 1/3
    assert m["health_backtest_auc"] == pytest.approx(1 / 3)
    # nobody green at L: empty band -> null; amber F kept -> 0 %; red A B E, E churned -> 1/3
    assert m["health_backtest_green_churn_pct"] is None and "green" in notes["health_backtest_green_churn_pct"]
    assert m["health_backtest_amber_churn_pct"] == 0.0
    assert m["health_backtest_red_churn_pct"] == pytest.approx(100 / 3)


def test_health_backtest_not_available_without_component_tables(tmp_path):
    src = write_company(tmp_path / "s", surveys=None, tickets=None, events=None, referrals=None, invoices=None)
    doc = metrics_of(src)
    for key in ("health_backtest_customers", "health_backtest_churned", "health_backtest_auc",
                "health_backtest_green_churn_pct", "health_backtest_amber_churn_pct", "health_backtest_red_churn_pct"):
        assert doc["metrics"][key] is None and "not available" in doc["notes"][key], key


def test_new_keys_per_segment(march):
    seg = march["segments"]
    # SMB (A, B): gained expansion 50, lost contraction 80 -> 0.625; cohort 2026-01 {A, B}: MRR 300, 300, 270
    assert seg["SMB"]["metrics"]["quick_ratio"] == pytest.approx(50 / 80)
    assert seg["SMB"]["metrics"]["cohort_logo_retention_pct"] == {"2026-01": [100.0, 100.0, 100.0]}
    assert_curves(seg["SMB"]["metrics"]["cohort_mrr_retention_pct"], {"2026-01": [100.0, 100.0, 90.0]})
    # Mid-Market (C reactivated 70, D new 40): nothing lost -> null
    assert seg["Mid-Market"]["metrics"]["quick_ratio"] is None
    # Enterprise: E churned 300, nothing gained -> 0.0 (a zero numerator is a number)
    assert seg["Enterprise"]["metrics"]["quick_ratio"] == 0.0
    assert seg["Enterprise"]["metrics"]["cohort_logo_retention_pct"] == {"2026-01": [100.0, 100.0, 100.0],
                                                                         "2026-02": [100.0, 0.0]}
    for name in seg:
        assert "health_backtest_auc" in seg[name]["metrics"] and "support_csat_pct" in seg[name]["metrics"]


def test_metrics_command_prints_every_new_key(march):
    doc = march
    new = ["quick_ratio", "cohort_logo_retention_pct", "cohort_mrr_retention_pct", "support_csat_pct",
           "support_csat_responses", "health_backtest_customers", "health_backtest_churned", "health_backtest_auc",
           "health_backtest_green_churn_pct", "health_backtest_amber_churn_pct", "health_backtest_red_churn_pct"]
    for key in new:
        assert key in doc["metrics"] and key in doc["status"], key
        value = doc["metrics"][key]
        if key.startswith("cohort_"):
            assert isinstance(value, dict) and all(isinstance(v, list) for v in value.values())
        else:
            assert (value is None and doc["notes"][key]) or isinstance(value, (int, float)), key
    # default targets: quick ratio 0.42 vs >= 4 (amber 2) -> red
    assert doc["status"]["quick_ratio"] == "red"
