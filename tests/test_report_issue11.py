"""Issue 11 in the report: the health backtest panel, the cohort heatmaps, sessions and support CSAT,
each shown from the model with numbers worked out by hand (the hand-computed company of conftest,
period March 2026; the session events of test_sessions)."""
from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from conftest import metrics_of, with_ticket_ids, write_company
from test_sessions import SESSION_EVENTS

from csreport.model import ReportModel
from csreport.report import components, narrative
from csreport.report.charts import cohort_heatmap
from csreport.report.formatting import fmt


def _model(source, *extra: str) -> ReportModel:
    return ReportModel.from_document(metrics_of(source, "2026-03", *extra))


@pytest.fixture(scope="module")
def one_month_backtest(tmp_path_factory) -> ReportModel:
    """The company with health.backtest_months 1: L = February 2026 (see test_metrics_company)."""
    folder = tmp_path_factory.mktemp("backtest")
    config = folder / "c.yaml"
    config.write_text("health: {backtest_months: 1}\n")
    return _model(write_company(folder / "company"), "--config", str(config))


def test_backtest_bands_hold_the_n_behind_the_churn_by_band(one_month_backtest):
    m = one_month_backtest
    # customers at L = Feb 2026: A 26.4 red, B 15 red, E 45 red, F 60 amber; E is not active in March: churned
    assert m.backtest_month.label == "February 2026"
    bands = {band: (b.customers, b.churned) for band, b in m.backtest_bands.items()}
    assert bands == {"green": (0, 0), "amber": (1, 0), "red": (3, 1)}
    # the same n as the keys: red 100 · 1 / 3, amber 0 / 1, green empty -> null
    assert m.value("health_backtest_red_churn_pct") == pytest.approx(100 * 1 / 3)
    assert m.value("health_backtest_amber_churn_pct") == 0.0 and m.value("health_backtest_green_churn_pct") is None
    assert sum(b.customers for b in m.backtest_bands.values()) == m.value("health_backtest_customers") == 4
    assert sum(b.churned for b in m.backtest_bands.values()) == m.value("health_backtest_churned") == 1


def test_no_backtest_population_no_bands(march):
    model = ReportModel.from_document(march)
    # default h = 3: L = Dec 2025, when nobody was a customer
    assert model.backtest_bands == {}
    assert "not measurable" in narrative.backtest_reading(model).lower()


def test_cohort_sizes_are_the_accounts_of_each_cohort(march):
    model = ReportModel.from_document(march)
    # first paying month: A, B, C, F in Jan 2026; E in Feb 2026; D in Mar 2026 = P, outside P-12 … P-1
    assert model.cohort_sizes == {"2026-01": 4, "2026-02": 1}
    assert list(model.value("cohort_logo_retention_pct")) == list(model.cohort_sizes)


@pytest.mark.parametrize(("auc", "words"), [
    (0.0, "worse than chance"), (0.49, "worse than chance"), (0.5, "no better than chance"),
    (0.55, "barely better than chance"), (0.6, "weak"), (0.69, "weak"), (0.7, "useful"), (0.8, "strong"),
    (0.9, "outstanding"), (1.0, "outstanding")])
def test_auc_bands_in_plain_words(auc, words):
    assert narrative.auc_band(auc).startswith(words)


def test_backtest_reading_says_when_n_is_too_small(one_month_backtest):
    # pairs (E, retained): 45 < 60 (F) counts 1, 45 > 26.4 (A) and 45 > 15 (B) count 0 -> AUC 1/3 = 0.33
    text = narrative.backtest_reading(one_month_backtest)
    assert text.startswith("AUC 0.33: worse than chance")
    assert "only 1 customer churned: too few to say" in text


def test_backtest_panel_shows_the_model(one_month_backtest):
    soup = BeautifulSoup(components.health_backtest(one_month_backtest).html, "html.parser")
    assert soup.select_one("h3").get_text() == "Does our health score predict churn?"
    method = soup.select_one(".backtest-method").get_text()
    assert "4 customers active in Feb 2026" in method and "in Mar 2026, 1 month later: 1 had churned" in method
    assert soup.select_one(".backtest-auc .kpi-value").get_text() == "0.33"
    assert "target ≥ 0.70" in soup.select_one(".backtest-auc").get_text()  # the shipped default, status red
    assert "rag-red" in str(soup.select_one(".backtest-auc .pill"))
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in soup.select("tbody tr")]
    assert rows == [["Green (health ≥ 75)", "0", "0", "n/a"], ["Amber (50 to 75)", "1", "0", "0.0%"],
                    ["Red (below 50)", "3", "1", "33.3%"]]
    assert [th.get_text() for th in soup.select("thead th")][:3] == ["Health band in Feb 2026", "Customers in Feb 2026",
                                                                     "Churned by Mar 2026"]


def test_time_in_product_sentence(tmp_path):
    model = _model(write_company(tmp_path / "company", events=SESSION_EVENTS))
    # test_sessions: 6 March sessions of 5 users (1.20 each), median 12.5 min, 80 min in all: 80 / 60 / 5 = 0.27 h.
    # February: A/s1 (23:50, its March instants do not exist for February), C/s1 23:29:59 and C/s2 23:30, each a
    # single instant -> 0 h per user; the change 0.27 h reads "up 0.3 h"
    line = narrative.sentence(model, "time_in_product_hours_per_user")
    assert line == ("5 users had 6 sessions (1.20 each, median 12.5 min); time in product 0.3 h per user, "
                    "up 0.3 h from Feb 2026.")
    html = narrative.section(model, ["time_in_product_hours_per_user"]).html
    assert "5 users had 6 sessions" in html


def test_new_keys_have_their_units():
    assert fmt("session_minutes_median", 12.5) == "12.5 min"
    assert fmt("session_minutes_avg", 80 / 6) == "13.3 min"
    assert fmt("sessions_per_user_avg", 1.2) == "1.20"
    assert fmt("time_in_product_hours_per_user", 80 / 300) == "0.3 h"
    assert fmt("quick_ratio", 0.625) == "0.62" and fmt("health_backtest_auc", 1 / 3) == "0.33"
    assert fmt("support_csat_pct", 50.0) == "50.0%" and fmt("sessions", 12345) == "12,345"


def test_support_csat_with_n_and_a_significance_test(tmp_path):
    model = _model(with_ticket_ids(write_company(tmp_path / "company")))
    # CSAT in March with a ticket_id: S8 5 (T1), S9 4 (T2), S10 3 (T3), S11 2 (T4) -> n 4, 2 of 4 satisfied
    assert model.value("support_csat_pct") == 50.0 and model.value("support_csat_responses") == 4
    assert (model.stats["support_csat_pct"].n, model.stats["support_csat_pct"].variance) == (4, 0.25)  # p(1 − p)
    assert components.response_counts(model, {"support_csat_pct": "support_csat_responses"}) == \
        {"support_csat_pct": "n=4"}
    line = narrative.sentence(model, "support_csat_pct")
    assert line is not None and line.startswith("Support CSAT 50.0% (n=4)")


def test_cohort_heatmap_writes_every_number_and_cohort_size():
    curves = {"2026-01": [100.0, 75.0, 50.0], "2026-02": [100.0, 112.5]}
    svg = cohort_heatmap(curves, "Logo retention by cohort", {"2026-01": 4, "2026-02": 1}).svg
    texts = re.findall(r">([^<>]+)</text>", svg)
    cells = [t for t in texts if t.strip() in {"100", "75", "50", "112"}]
    # 5 cells; 112.5 is written rounded half to even, as Python formats it
    assert sorted(cells) == sorted(["100", "75", "50", "100", "112"])
    assert "Jan 2026 (n=4)" in texts and "Feb 2026 (n=1)" in texts
    assert not re.search(r"fill: ?#(?:1e8e5a|c8372d)", svg)  # no green or red: the shade is one hue
    assert "<image" not in svg  # vector cells: no raster picture in the report


def test_cohort_retention_component_shows_both_heatmaps(march):
    html = components.cohort_retention(ReportModel.from_document(march)).html
    assert "Logo retention by cohort" in html and "MRR retention by cohort" in html
    assert "Jan 2026 (n=4)" in html


def test_default_targets_cover_the_new_headline_keys_with_sources():
    from csreport.benchmark.targets import load_targets

    targets = load_targets(None).metrics
    # the new keys the report judges: quick ratio (revenue), support CSAT (support), the backtest AUC (health)
    assert (targets["quick_ratio"].target, targets["support_csat_pct"].target, targets["health_backtest_auc"].target) \
        == (4, 85, 0.7)
    for key in ("quick_ratio", "support_csat_pct", "health_backtest_auc"):
        assert targets[key].source and len(targets[key].source) > 20, key
    # no public benchmark with a method for session metrics: no target rather than an invented one
    assert not {"sessions", "session_minutes_median", "session_minutes_avg", "sessions_per_user_avg",
                "time_in_product_hours_per_user"} & set(targets)
