"""Issue 10 on the report model: the fields a board pack needs, each worked out by hand.

The company is the hand-computed one of conftest (period March 2026, 31 days; February 28 days);
health weights usage 0.4, feedback 0.3, support 0.2, payment 0.1; bands green >= 75, amber >= 50.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import TICKETS, metrics_of, write_company

from csreport.metrics import health
from csreport.model import ReportModel
from csreport.model.build import _change, _Past, csat_moe95, health_move
from csreport.report import narrative
from csreport.report.definitions import documented_formulas
from csreport.report.formatting import bridge_figures, delta, yoy

WEIGHTS = {"usage": 0.4, "feedback": 0.3, "support": 0.2, "payment": 0.1}


def _doc(source: Path, *extra: str) -> dict:
    return metrics_of(source, "2026-03", "--history", source.parent / "none.sqlite", *extra)


# -- customers most at risk ---------------------------------------------------------------------------
def test_at_risk_is_the_red_band_by_mrr_at_risk_with_change_and_mover(march):
    rows = {r["account_id"]: r for r in march["at_risk"]}
    # March health (see test_metrics_company.test_health):
    #   A: 0.4 * 100*2/31 + 0.3 * 100 + 0.2 * 50 + 0.1 * 100/3 = 2.5806 + 30 + 10 + 3.3333 = 45.914, MRR 150
    #   B: 0.4 * 100*1/31 + 0.3 * 0 + 0.2 * 100 + 0.1 * 100   = 1.2903 + 0 + 20 + 10     = 31.290, MRR 120
    #   C: 0.4 * 0 + 0.3 * 50 + 0.2 * 0 + 0.1 * 100           = 25.0, MRR 70 (reactivated in March)
    #   D: 0.4 * 0 + 0.3 * 50 + 0.2 * 100 + 0.1 * 100         = 45.0, MRR 40 (new in March)
    #   F: 60.0 -> amber, not listed
    # MRR at risk = MRR * (100 - health) / 100: B 120 * 0.68710 = 82.45, A 150 * 0.54086 = 81.13,
    # C 70 * 0.75 = 52.5, D 40 * 0.55 = 22.0 -> B before A although A has more MRR and more health
    assert [r["account_id"] for r in march["at_risk"]] == ["B", "A", "C", "D"]
    assert march["at_risk_red_total"] == 4
    assert rows["B"]["mrr_at_risk"] == pytest.approx(120 * (100 - (100 / 31 * 0.4 + 30)) / 100)
    assert rows["A"]["mrr_at_risk"] == pytest.approx(150 * (100 - (0.4 * 200 / 31 + 30 + 10 + 10 / 3)) / 100)
    assert (rows["C"]["mrr_at_risk"], rows["D"]["mrr_at_risk"]) == (pytest.approx(52.5), pytest.approx(22.0))
    # C: usage 0 and support 0 tie for the weakest: both listed, heavier weight first
    assert rows["C"]["weakest"] == ["usage", "support"] and rows["C"]["weakest_score"] == 0.0
    assert rows["A"]["weakest"] == ["usage"] and rows["A"]["weakest_score"] == pytest.approx(200 / 31)
    # February health of A: usage 100 * 1/28 (event 02-28 23:59:59); feedback: latest NPS before 1 March is S1
    # (2025-06-01, score 3: detractor) -> 0; support: no ticket created in February -> 100; payment: I1 on time,
    # I2 late -> 50. Health = 0.4 * 3.5714 + 0 + 20 + 5 = 26.4286; change 45.914 - 26.429 = +19.485.
    # Weighted points moved: usage +1.152, feedback +30, support -10, payment -1.667 -> feedback moved it, +30
    assert rows["A"]["health_previous"] == pytest.approx(0.4 * 100 / 28 + 25)
    assert rows["A"]["health_change"] == pytest.approx((0.4 * 200 / 31 + 30 + 10 + 10 / 3) - (0.4 * 100 / 28 + 25))
    assert (rows["A"]["moved_by"], rows["A"]["moved_by_points"]) == ("feedback", pytest.approx(30.0))
    # B in February: usage 0; feedback none -> 50; support: T8 open 9 days at end(Feb) -> missed -> 0;
    # payment: I4 due 2025-12-15 unpaid -> 0. Health = 0.3 * 50 = 15; now 31.290: change +16.290, of which
    # usage +1.290, feedback -15, support +20, payment +10 -> support moved it most (+20)
    assert rows["B"]["health_previous"] == pytest.approx(15.0)
    assert (rows["B"]["moved_by"], rows["B"]["moved_by_points"]) == ("support", pytest.approx(20.0))
    # C and D were not customers in February: no previous health, nothing "moved"
    for account in ("C", "D"):
        assert (rows[account]["health_previous"], rows[account]["health_change"], rows[account]["moved_by"]) == \
            (None, None, None)
    # no csm column in this accounts table
    assert march["csm_known"] is False and rows["A"]["csm"] is None


def test_at_risk_names_the_csm_when_accounts_has_the_column(tmp_path):
    source = write_company(tmp_path / "company")
    accounts = pd.read_csv(source / "accounts.csv", dtype=str, keep_default_na=False)
    accounts["csm"] = accounts["account_id"].map({"A": "Priya Shah", "B": "=HYPERLINK(1)"}).fillna("")
    accounts.to_csv(source / "accounts.csv", index=False)
    doc = _doc(source)
    owners = {r["account_id"]: r["csm"] for r in doc["at_risk"]}
    assert doc["csm_known"] is True
    assert owners == {"A": "Priya Shah", "B": "=HYPERLINK(1)", "C": None, "D": None}  # empty cell = unassigned


def test_weakest_components_lists_ties_heaviest_first():
    # payment and support tie at 40 (support weighs more); usage and feedback are higher
    scores = {"usage": 80.0, "feedback": 60.0, "support": 40.0, "payment": 40.0000000001}
    assert health.weakest_components(scores, WEIGHTS) == ["support", "payment"]
    # a missing component (None) is not a candidate
    assert health.weakest_components({"usage": None, "feedback": 0.0}, WEIGHTS) == ["feedback"]
    # the health_scores column agrees with the first of the ties
    frame = pd.DataFrame([scores], index=["X"])
    assert health.health_scores(frame, WEIGHTS, 75, 50).loc["X", "weakest"] == "support"


def test_health_move_picks_the_component_that_moved_health_most_in_its_direction():
    before = {"usage": 50.0, "feedback": 100.0, "support": 100.0, "payment": 100.0}
    now = {"usage": 100.0, "feedback": 0.0, "support": 100.0, "payment": 100.0}
    # points: usage 0.4 * (100 - 50) = +20, feedback 0.3 * (0 - 100) = -30 -> health -10: feedback moved it (-30)
    assert health_move(now, before, WEIGHTS) == ("feedback", pytest.approx(-30.0))
    # with only usage and feedback present, weights rescale to 0.4/0.7 and 0.3/0.7:
    # usage +50 * 4/7 = +28.57, feedback -100 * 3/7 = -42.86 -> still feedback, -42.86
    two_now, two_before = {"usage": 100.0, "feedback": 0.0}, {"usage": 50.0, "feedback": 100.0}
    assert health_move(two_now, two_before, WEIGHTS) == ("feedback", pytest.approx(-300 / 7))
    # no change: nothing moved it; different components in the two months: not comparable
    assert health_move(before, before, WEIGHTS) == (None, None)
    assert health_move(two_now, before, WEIGHTS) == (None, None)


# -- comparisons and trends -------------------------------------------------------------------------------
def test_yoy_significance_and_grey_yoy_delta():
    year_ago = _Past(value=100.0, n=1, variance=0.0, source="history")
    # NPS 25 with var 0.6875 (p 0.5, d 0.25: 0.75 - 0.0625) against 100 with var 0: delta -0.75 in shares.
    # n = 4: 1.96 * sqrt(0.6875 / 4) = 0.8126 > 0.75 -> within noise; n = 16: 1.96 * sqrt(0.6875 / 16) = 0.4063
    assert _change("nps", 25.0, (4, 0.6875), None, year_ago).yoy_significant is False
    assert _change("nps", 25.0, (16, 0.6875), None, year_ago).yoy_significant is True
    assert _change("mrr_end", 390.0, None, None, _Past(500.0, None, None, "data")).yoy_significant is None
    within = delta("nps", 25.0, 100.0, significant=False)
    assert (within.text, within.arrow, within.tone) == ("-75 pts", "▼", "flat")
    assert delta("nps", 25.0, 100.0, significant=True).tone == "bad"


def test_yoy_uses_the_yoy_significance(march):
    model = ReportModel.from_document(march)
    change = model.comparison["nps"].model_copy(update={"year_ago": 100.0, "yoy_significant": False})
    grey = model.model_copy(update={"comparison": model.comparison | {"nps": change}})
    assert yoy(grey, "nps").tone == "flat"
    red = model.model_copy(update={"comparison": model.comparison | {"nps": change.model_copy(
        update={"yoy_significant": True})}})
    assert yoy(red, "nps").tone == "bad"


def test_survey_trends_carry_the_95_percent_margin(march):
    csat, nps = march["trends"]["csat_pct"], march["trends"]["nps"]
    # March CSAT: S8 5, S9 4, S10 3, S11 2, S12 4 -> 3 of 5 satisfied = 60 %; 196 * sqrt(0.6 * 0.4 / 5) = 42.94
    assert csat["months"] == ["2026-01", "2026-02", "2026-03"]
    assert csat["moe95"] == [None, None, pytest.approx(196 * (0.24 / 5) ** 0.5)]
    # NPS: January S7 (10) alone: p = 1, d = 0 -> variance 1 - 1 = 0 -> margin 0; February no answers;
    # March (see test_surveys) 196 * sqrt(0.6875 / 4) = 81.26
    assert nps["moe95"] == [0.0, None, pytest.approx(196 * (0.6875 / 4) ** 0.5)]
    assert march["trends"]["mrr_end"]["moe95"] == []
    assert csat_moe95(None, 10) is None and csat_moe95(50.0, 0) is None


def test_promoter_share_changes_get_a_significance_test(march):
    # no NPS answer in February: nothing to test against; the key is tested like NPS itself
    assert march["comparison"]["nps_promoters_pct"]["significant"] is None
    assert set(march["stats"]) >= {"nps_promoters_pct", "nps_detractors_pct"}
    # March: 4 answers, promoters 2 (p 0.5) -> variance 0.25; detractors 1 (0.25) -> 0.1875
    assert march["stats"]["nps_promoters_pct"] == {"n": 4, "variance": 0.25}
    assert march["stats"]["nps_detractors_pct"] == {"n": 4, "variance": pytest.approx(0.1875)}


# -- honest gaps -----------------------------------------------------------------------------------------
def test_unavailable_domains_and_health_from_fewer_components(tmp_path):
    only_surveys = _doc(write_company(tmp_path / "s", tickets=None, events=None, referrals=None, invoices=None))
    assert set(only_surveys["unavailable"]) == {"support", "engagement", "referrals"}
    assert only_surveys["unavailable"]["support"] == "not available: the data source has no tickets table"
    assert only_surveys["health_components"] == ["feedback"]
    assert only_surveys["health_missing"] == {"usage": "the data source has no events table",
                                              "support": "the data source has no tickets table",
                                              "payment": "the data source has no invoices table"}
    bare = _doc(write_company(tmp_path / "r", surveys=None, tickets=None, events=None, referrals=None, invoices=None))
    assert set(bare["unavailable"]) == {"surveys", "support", "engagement", "referrals", "health"}
    assert bare["health_components"] == [] and len(bare["health_missing"]) == 4
    everything = _doc(write_company(tmp_path / "all"))
    assert everything["unavailable"] == {} and everything["health_missing"] == {}


def test_an_empty_events_table_does_not_turn_customers_red(tmp_path):
    doc = _doc(write_company(tmp_path / "company", events=[]))
    # usage left out, weights rescaled over feedback 0.3, support 0.2, payment 0.1 (sum 0.6):
    #   A: (30 + 10 + 3.333) / 0.6 = 72.22 (amber), B: (0 + 20 + 10) / 0.6 = 50 (amber),
    #   C: (15 + 0 + 10) / 0.6 = 41.67 (red), D: (15 + 20 + 10) / 0.6 = 75 (green), F: (30 + 20 + 10) / 0.6 = 100
    # with usage counted as 0 instead, all five would be red or amber (e.g. A 45.9 - 2.6 = 43.3, D 45, F 60)
    assert doc["health_missing"] == {"usage": "the events table has no rows"}
    assert [r["account_id"] for r in doc["at_risk"]] == ["C"]
    assert doc["at_risk"][0]["health"] == pytest.approx(25 / 0.6)
    assert doc["metrics"]["health_red_pct"] == pytest.approx(20.0)  # C of 5
    assert doc["unavailable"] == {"engagement": "not available: the events table has no rows"}
    assert doc["notes"]["stickiness_pct"] == "not available: the events table has no rows"


def test_quarantined_rows_per_table(tmp_path):
    source = write_company(tmp_path / "company", tickets=TICKETS + [("T9", "NOPE", "2026-03-02T10:00:00Z", "", "")])
    model = ReportModel.from_document(_doc(source, "--on-invalid", "quarantine", "--rejects", tmp_path / "rej"))
    assert model.quarantined() == {"tickets": 1}
    assert narrative.quarantine_line(model) == \
        "1 invalid row was set aside and left out of every figure: tickets 1 (see Data quality)."


# -- the narrative a CFO can check -----------------------------------------------------------------------
_AMOUNT = r"([+−]?)\$([\d,]+(?:\.\d)?)(k?)"


def _bridge_numbers(sentence: str) -> tuple[float, float, float, list[float]]:
    """(start, end, change, signed parts) as the MRR sentence shows them, in dollars."""
    def value(sign: str, digits: str, k: str) -> float:
        amount = float(digits.replace(",", "")) * (1000 if k else 1)
        return -amount if sign == "−" else amount

    found = [value(*m) for m in re.findall(_AMOUNT, sentence)]
    start, end, change, *parts = found
    return start, end, change, parts


def check_bridge_sentence(model: ReportModel) -> str:
    sentence = narrative.mrr_sentence(model)
    assert sentence is not None
    start, end, change, parts = _bridge_numbers(sentence)
    assert len(parts) == 5 and all(w in sentence for w in ("new", "reactivation", "expansion", "contraction",
                                                           "churned"))
    # the shown parts add up to the shown change, and start + change = end, to the cent of the shown unit
    assert sum(parts) == pytest.approx(change, abs=1e-6)
    assert start + change == pytest.approx(end, abs=1e-6)
    return sentence


def test_mrr_sentence_names_every_part_and_adds_up_on_the_company(march):
    sentence = check_bridge_sentence(ReportModel.from_document(march))
    # 610 -> 390: +40 new (D), +70 reactivation (C), +50 expansion (A), -80 contraction (B), -300 churned (E)
    assert sentence == ("MRR fell 36.1% from $610 to $390 (−$220): +$40 new, +$70 reactivation, +$50 expansion, "
                        "−$80 contraction, −$300 churned.")


def test_bridge_rounding_keeps_the_sum():
    # every part is $0.4: rounded alone they would all show $0 while the total moved by $2
    bridge = {"mrr_start": 1000.4, "mrr_new": 0.4, "mrr_reactivation": 0.4, "mrr_expansion": 0.4,
              "mrr_contraction": 0.0, "mrr_churned": 0.0, "mrr_end": 1001.6}
    figures = bridge_figures(bridge)
    # start 1000, end 1002 (change 2): the two largest remainders (ties: first) get the units -> 1, 1, 0
    assert (figures.start, figures.end, [u for _, _, u in figures.parts]) == (1000, 1002, [1, 1, 0, 0, 0])
    assert bridge_figures({**bridge, "mrr_new": None}) is None


def test_verdicts_follow_the_status_with_the_gap(march):
    model = ReportModel.from_document(march)
    # logo churn 25 % against the default <= 1.0 % (amber 1.0): red, missed by 24.0 pp
    assert narrative.target_words(model, "logo_churn_rate_pct") == "misses the target of ≤ 1.0% by 24.0 pp"
    amber = model.model_copy(update={"metrics": model.metrics | {"logo_churn_rate_pct": 1.6},
                                     "status": model.status | {"logo_churn_rate_pct": "amber"}})
    # 1.6 % against 1.0 %: 0.6 pp over, within the 1.0 pp tolerance -> the only case that "just misses"
    assert narrative.target_words(amber, "logo_churn_rate_pct") == \
        "just misses the target of ≤ 1.0% (by 0.6 pp, within the 1.0 pp tolerance)"
    green = model.model_copy(update={"status": model.status | {"logo_churn_rate_pct": "green"}})
    assert narrative.target_words(green, "logo_churn_rate_pct") == "meets the target of ≤ 1.0%"


def test_summary_metrics_are_not_said_again_in_sections(march):
    model = ReportModel.from_document(march)
    said = str(narrative.section(model, ["nps", "nrr_pct", "logo_churn_rate_pct", "csat_pct"]))
    assert "NPS" not in said and "Logo churn" not in said
    assert "Net revenue retention" in said and "CSAT" in said


def test_every_catalog_metric_has_a_documented_formula():
    from csreport.metrics.catalog import KEYS

    formulas = documented_formulas()
    assert [key for key in KEYS if key not in formulas] == []
    # the churn and reactivation rules are stated where the keys are defined
    assert formulas["customers_reactivated"] == "# customers active in P, not in P-1, and active in some month " \
                                                "before P-1"
    assert "sla_hours" in formulas["sla_met_pct"] and "gross_margin" in formulas["cltv"]
