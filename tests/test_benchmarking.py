"""Targets and status (SPEC §4), the history store, comparison, segments and backfill."""
from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest
from conftest import metrics_of, run_cli

from csreport.benchmark.compare import significance
from csreport.benchmark.history import History
from csreport.benchmark.targets import Target, Targets, load_targets, status
from csreport.errors import ConfigError, HistoryError
from csreport.metrics.cohorts import COHORT_KEYS


def test_status_boundaries_higher_is_better():
    t = Target(target=40, amber=10)
    assert status(40.0, "nps", t) == "green"  # exactly on target
    assert status(30.0, "nps", t) == "amber"  # misses by exactly the tolerance
    assert status(29.999, "nps", t) == "red"
    assert status(None, "nps", t) is None
    assert status(50.0, "nps", None) is None


def test_status_boundaries_lower_is_better():
    t = Target(target=1.0, amber=0.5)
    assert status(1.0, "logo_churn_rate_pct", t) == "green"
    assert status(0.2, "logo_churn_rate_pct", t) == "green"
    assert status(1.5, "logo_churn_rate_pct", t) == "amber"
    assert status(1.5000001, "logo_churn_rate_pct", t) == "red"
    # float noise must not push an exact boundary over: 0.1 + 0.2 is 0.30000000000000004
    assert status(0.1 + 0.2, "frt_median_hours", Target(target=0.3)) == "green"


def test_segment_target_overrides_and_inherits_tolerance():
    targets = Targets(metrics={"logo_churn_rate_pct": Target(target=1.0, amber=0.5)},
                      segments={"SMB": {"logo_churn_rate_pct": Target(target=2.5)}})
    smb = targets.lookup("logo_churn_rate_pct", "SMB")
    assert (smb.target, smb.amber) == (2.5, 0.5)
    assert targets.lookup("logo_churn_rate_pct", "Enterprise").target == 1.0


def test_invalid_targets_file(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("metrics:\n  nps_score: {target: 40}\n")
    with pytest.raises(ConfigError) as err:
        load_targets(path)
    assert "nps_score" in str(err.value) and "unknown metric" in str(err.value)
    path.write_text("metrics:\n  csat_pct: {target: high}\n")
    with pytest.raises(ConfigError, match=r"csat_pct\.target"):
        load_targets(path)
    path.write_text("metrics:\n  mrr_start: {target: 5}\n")  # no natural direction
    with pytest.raises(ConfigError, match="direction"):
        load_targets(path)
    for infinite in (".inf", ".nan", "1e400"):  # floats to YAML, but no target
        path.write_text(f"metrics:\n  nps: {{target: {infinite}}}\n")
        with pytest.raises(ConfigError, match=r"nps\.target: Input should be a finite number"):
            load_targets(path)


@pytest.mark.parametrize(("content", "said"), [
    # YAML reads `true` as a boolean and "40" as text: a target of true was read as 1, and an NPS of 25 was green
    (b"metrics:\n  nps: {target: true, amber: 10}\n",
     "metrics.nps.target: true is not a number: write the number itself, e.g. 40 (no quotes"),
    (b'metrics:\n  nps: {target: "40"}\n', 'metrics.nps.target: "40" is not a number'),
    (b"metrics:\n  nps: {target: 40, amber: yes}\n", "metrics.nps.amber: true is not a number"),
    # the second entry silently replaced the first
    (b"metrics:\n  nps: {target: 40}\n  nps: {target: 30}\n", "'nps' is written twice (lines 2 and 3); keep one"),
    # a table of values (per feature, per cohort) has no status: the entry graded nothing
    (b"metrics:\n  feature_adoption_pct: {target: 40}\n",
     "metrics.feature_adoption_pct: this metric is a table of values (per feature or cohort)"),
    # 9 + 20 + 5 bytes before the é
    (b"metrics:\n  nps: {target: 40}\n# caf\xe9 in Latin-1\n", "is not UTF-8 text (byte 0xe9 at offset 34)"),
    (b"- nps\n- csat_pct\n", "must hold a mapping (key: value lines) at the top level"),
])
def test_a_targets_file_that_would_be_read_wrongly_is_an_error(company, tmp_path, content, said):
    """Each was read without a word before (a traceback for the Latin-1 byte); now exit 2 with the fix, and the
    same through the config's 'targets:' line."""
    (tmp_path / "t.yaml").write_bytes(content)
    (tmp_path / "cs.yaml").write_text("targets: t.yaml\n")
    for option in (("--targets", tmp_path / "t.yaml"), ("--config", tmp_path / "cs.yaml")):
        code, out, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--quiet", *option)
        assert (code, out) == (2, ""), err
        assert f"targets file {tmp_path / 't.yaml'}" in err and said in err, err
        assert "Traceback" not in err


def test_config_numbers_are_numbers_and_keys_are_written_once(company, tmp_path):
    config = tmp_path / "cs.yaml"
    config.write_text("sla_hours: yes\nhealth:\n  backtest_months: '3'\n")
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--quiet", "--config", config)
    assert code == 2
    assert "  - sla_hours: true is not a number" in err and "  - health.backtest_months: \"3\" is not a number" in err
    config.write_text("gross_margin: 0.7\ngross_margin: 0.9\n")
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--quiet", "--config", config)
    assert code == 2 and "'gross_margin' is written twice (lines 1 and 2)" in err


def test_targets_of_a_segment_the_data_lacks_are_warned_about(company, tmp_path):
    """The company's segments are SMB, Mid-Market and Enterprise. 'smb' and 'Galactic' grade nothing: a warning
    each (even with --quiet), and SMB is graded by the company-wide entry, not by 'smb's target of -100."""
    path = tmp_path / "t.yaml"
    path.write_text("metrics:\n  nps: {target: 40, amber: 10}\nsegments:\n  smb:\n    nps: {target: -100}\n"
                    "  Galactic:\n    nps: {target: -100}\n")
    code, out, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--quiet", "--targets", path)
    assert code == 0, err
    assert err.splitlines() == [
        f"[csreport] warning: targets for segment 'smb' in {path} are not used: the accounts table has no such "
        "segment (did you mean 'SMB'? segment names are compared exactly)",
        f"[csreport] warning: targets for segment 'Galactic' in {path} are not used: the accounts table has no such "
        "segment (its segments: 'Enterprise', 'Mid-Market', 'SMB')"]
    doc = json.loads(out)
    assert doc["status"]["nps"] == "red"  # 25 misses 40 by 15 > 10
    # SMB's NPS is 100 * (2/3 - 1/3) = 33.3 (test_segments_in_metrics_json): it misses 40 by 6.7 <= 10
    assert doc["segments"]["SMB"]["status"]["nps"] == "amber"
    # the shipped defaults name example segments (SMB, Enterprise) a company need not have: never a warning
    assert load_targets(None).unmatched_segments({"Startup", "Scale"}) == []
    assert len(load_targets(path).unmatched_segments({"Startup", "Scale"})) == 2


def test_default_targets_load_with_sources():
    targets = load_targets(None)
    assert targets.metrics["nps"].target == 40 and targets.metrics["nps"].source


def test_metrics_json_status_from_targets(company, tmp_path):
    path = tmp_path / "t.yaml"
    # NPS 25: target 25 -> green; churn 25 % lower-is-better, target 20 amber 5 -> amber; GRR 37.7 vs 90 -> red
    path.write_text("metrics:\n  nps: {target: 25}\n  logo_churn_rate_pct: {target: 20, amber: 5}\n"
                    "  grr_pct: {target: 90, amber: 5}\n")
    doc = metrics_of(company, "2026-03", "--targets", str(path))
    assert doc["status"]["nps"] == "green"
    assert doc["status"]["logo_churn_rate_pct"] == "amber"
    assert doc["status"]["grr_pct"] == "red"
    assert doc["status"]["csat_pct"] is None  # no target in this file


def _values(**kw):
    return {"": kw}


def test_history_upsert_is_idempotent(tmp_path):
    store = History(tmp_path / "h.sqlite")
    store.write_period("2026-03", {"": {"nps": 25.0, "csat_pct": 60.0}, "SMB": {"nps": 10.0}}, {}, "abc")
    store.write_period("2026-03", {"": {"nps": 30.0, "csat_pct": 60.0}, "SMB": {"nps": 10.0}}, {}, "abc")
    assert store.count() == 3
    assert store.read(["2026-03"])["2026-03"]["nps"][0] == 30.0


def test_interrupted_write_leaves_store_unchanged(tmp_path):
    store = History(tmp_path / "h.sqlite")
    store.write_period("2026-03", {"": {"nps": 25.0}}, {}, "abc")
    # a value SQLite cannot bind fails half-way through the inserts: the delete must roll back too
    with pytest.raises(HistoryError, match="left unchanged"):
        store.write_period("2026-03", {"": {"csat_pct": 1.0, "nps": object()}}, {}, "abc")
    assert store.read(["2026-03"])["2026-03"] == {"nps": (25.0, None, None)}


def _writer(path: str, worker: int) -> None:
    store = History(path)
    for i in range(25):
        values = {"": {f"m{j}": float(worker * 1000 + i) for j in range(40)}}
        store.write_period(f"2026-{worker:02d}", values, {}, f"w{worker}")


def test_two_processes_writing_at_once(tmp_path):
    path = str(tmp_path / "h.sqlite")
    History(path).write_period("2025-01", {"": {"x": 1.0}}, {}, "init")
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, w)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(con.execute("SELECT period, count(*) FROM metric_history GROUP BY period").fetchall())
    assert rows == {"2025-01": 1, "2026-01": 40, "2026-02": 40}
    # each period holds the last write of its writer, all 40 metrics from the same write
    values = con.execute("SELECT period, min(value), max(value) FROM metric_history GROUP BY period").fetchall()
    assert sorted(values) == [("2025-01", 1.0, 1.0), ("2026-01", 1024.0, 1024.0), ("2026-02", 2024.0, 2024.0)]


def test_significance_by_hand():
    # NPS 10 -> 30 on n = 200 each, variances .69 and .61 (share units): delta 0.20 share;
    # 1.96 * sqrt(.61/200 + .69/200) = 0.158 -> significant
    assert significance("nps", 30.0, 200, 0.61, 10.0, 200, 0.69) is True
    # CSAT 50 -> 60 % on n = 10: delta 0.10; 1.96 * sqrt(.24/10 + .25/10) = 0.434 -> not significant
    assert significance("csat_pct", 60.0, 10, 0.24, 50.0, 10, 0.25) is False
    assert significance("grr_pct", 60.0, 10, 0.24, 50.0, 10, 0.25) is None  # not a survey metric
    assert significance("nps", 30.0, 200, 0.61, 10.0, 0, None) is None  # no responses last month


def test_previous_period_from_history_else_data_and_restatements(company, tmp_path):
    path = tmp_path / "h.sqlite"
    store = History(path)
    # February as recorded earlier: NPS 10 (n 200), and 7 customers, which the data no longer gives (4)
    store.write_period("2026-02", {"": {"nps": 10.0, "customers_end": 7}}, {"": {"nps": (200, 0.69)}}, "old")
    store.write_period("2025-03", {"": {"nps": 0.0}}, {"": {"nps": (50, 0.5)}}, "old")
    doc = metrics_of(company, "2026-03", "--history", str(path))
    nps = doc["comparison"]["nps"]
    # March NPS 25 (n 4): previous 10 from history -> +15; a year ago 0 from history -> +25
    assert (nps["previous"], nps["previous_from"], nps["mom_delta"]) == (10.0, "history", 15.0)
    assert (nps["year_ago"], nps["year_ago_from"], nps["yoy_delta"]) == (0.0, "history", 25.0)
    # p .5, d .25: var .5 + .25 - .25**2 = .6875; delta .15 <= 1.96 * sqrt(.6875/4 + .69/200) = .821
    assert nps["significant"] is False
    # customers_end: history holds February -> 7 (not the data's 4); 5 - 7 = -2
    assert doc["comparison"]["customers_end"]["previous"] == 7
    assert doc["comparison"]["customers_end"]["previous_from"] == "history"
    assert doc["comparison"]["customers_end"]["mom_delta"] == -2
    # MRR: not in history -> recomputed from the data: February 100 + 200 + 300 + 10 = 610
    assert doc["comparison"]["mrr_end"] == {**doc["comparison"]["mrr_end"], "previous": 610.0, "previous_from": "data"}
    # March 2025 is before the data starts (January 2026): no year-ago MRR rather than a made-up 0
    assert doc["comparison"]["mrr_end"]["year_ago"] is None and doc["comparison"]["mrr_end"]["yoy_delta"] is None
    # the recorded 7 differs from what the data gives now (4): a restatement with both values
    assert {"period": "2026-02", "metric": "customers_end", "segment": "", "recorded": 7.0,
            "recomputed": 4} in doc["restatements"]
    # February NPS: recorded 10, but the data has no February NPS answers -> null now
    assert {"period": "2026-02", "metric": "nps", "segment": "", "recorded": 10.0,
            "recomputed": None} in doc["restatements"]
    assert len(doc["restatements"]) == 2


def test_segments_in_metrics_json(march):
    doc = march
    seg = doc["segments"]
    assert set(seg) == {"SMB", "Mid-Market", "Enterprise"}
    # SMB customers in March: A (150), B (120) -> MRR 270; Mid-Market: C (70), D (40)
    assert seg["SMB"]["metrics"]["mrr_end"] == 270 and seg["Mid-Market"]["metrics"]["mrr_end"] == 110
    # Enterprise: E churned (300), F flat (10): churn 1 of 2
    assert seg["Enterprise"]["metrics"]["logo_churn_rate_pct"] == pytest.approx(50.0)
    # SMB NPS answers in March: A 9, B 10, B 6 -> p 2/3, d 1/3
    assert seg["SMB"]["metrics"]["nps"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    assert seg["Enterprise"]["status"]["logo_churn_rate_pct"] == "red"  # default Enterprise target 0.5 +- 0.5


def test_metrics_reads_history_but_never_writes(company, tmp_path):
    store = tmp_path / "h.sqlite"
    code, _, err = run_cli("backfill", "--data", company, "--from", "2026-02", "--to", "2026-02",
                             "--history", store, "--quiet")
    assert code == 0, err
    before = History(store).count()
    doc = metrics_of(company, "2026-03", "--history", str(store))
    assert History(store).count() == before
    # February NPS from the backfill: B 6... none in Feb -> null; customers_end Feb = 4
    assert doc["comparison"]["customers_end"]["previous"] == 4
    assert doc["comparison"]["customers_end"]["mom_delta"] == 1
    assert doc["comparison"]["customers_end"]["yoy_delta"] is None


def test_backfill_equals_per_period_metrics(company, tmp_path):
    store = tmp_path / "h.sqlite"
    code, _, err = run_cli("backfill", "--data", company, "--from", "2026-01", "--to", "2026-04", "--history", store,
                           "--quiet")
    assert code == 0, err
    rows = History(store).read(["2026-01", "2026-02", "2026-03", "2026-04"])
    for period in ("2026-01", "2026-02", "2026-03", "2026-04"):
        expected = metrics_of(company, period)["metrics"]
        for key, value in expected.items():
            if key in COHORT_KEYS:
                # cohort curves are not history: no row for the key, nor one per cohort
                assert not [metric for metric in rows[period] if metric.split(":")[0] == key], (period, key)
            elif isinstance(value, dict):
                for feature, share in value.items():
                    assert rows[period][f"{key}:{feature}"][0] == pytest.approx(share)
            else:
                stored = rows[period][key][0]
                assert stored == pytest.approx(value) if value is not None else stored is None, (period, key)
    # rerunning the backfill does not duplicate rows
    count = History(store).count()
    run_cli("backfill", "--data", company, "--from", "2026-01", "--to", "2026-04", "--history", store, "--quiet")
    assert History(store).count() == count
