"""`csreport targets suggest`: targets from the history baseline (csreport.benchmark.suggest).

Rule (module docstring): baseline = median of the last N months; target = a quarter of the gap
to the default-targets benchmark (hold where the baseline meets it); without a benchmark a tenth
of the gap to 100 % / 0 % for percentages, else 5 % better; amber = |target − baseline| + MAD.
"""
from __future__ import annotations

import pytest
import yaml
from conftest import metrics_of, run_cli

from csreport.benchmark.history import History
from csreport.benchmark.targets import load_targets

MONTHS = ["2025-09", "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
COMPANY = {  # metric: its value in each of MONTHS (company-wide)
    "nps": [-100, 20, 30, 25, 35, 30, 40],
    "logo_churn_rate_pct": [9, 3, 2, 4, 3, 5, 2],
    "ces_avg": [1, 6, 6, 6, 6, 6, 6],
    "nps_promoters_pct": [0, 50, 50, 50, None, 50, 50],
    "health_amber_pct": [0, 20, 20, 20, 20, 20, 20],
    "mrr_end": [0, 1000, 1100, 1200, 1300, 1400, 1500],
    "cltv": [500, None, None, None, None, None, None],
    "customers_start": [1, 2, 3, 4, 5, 6, 7],  # a volume: no better direction
}


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.sqlite"
    store = History(path)
    for i, month in enumerate(MONTHS):
        values = {key: series[i] for key, series in COMPANY.items()}
        values["feature_adoption_pct"] = {"login": 50.0 + i}  # per-feature rows: no target
        store.write_period(month, {"": values, "SMB": {"nps": 99.0}}, {}, "test")  # segment rows are ignored
    return path


def test_suggested_targets_by_hand(history, tmp_path):
    out = tmp_path / "suggested" / "targets.yaml"
    before = history.read_bytes()
    code, stdout, err = run_cli("targets", "suggest", "--history", history, "--out", out)
    assert code == 0, err
    assert stdout.strip() == str(out)
    assert history.read_bytes() == before  # read only
    got = load_targets(out).metrics
    assert set(got) == {"nps", "logo_churn_rate_pct", "ces_avg", "nps_promoters_pct", "health_amber_pct", "mrr_end"}

    def check(key, target, amber):
        assert (got[key].target, got[key].amber) == (pytest.approx(target, abs=1e-4), pytest.approx(amber, abs=1e-4))

    # window 2025-10 … 2026-03 (the last 6; 2025-09 left out)
    # nps 20 30 25 35 30 40 -> median 30; benchmark 40: 30 + (40 - 30) / 4 = 32.5;
    # MAD median(10 0 5 5 0 10) = 5 -> amber 2.5 + 5
    check("nps", 32.5, 7.5)
    # churn (lower is better) 3 2 4 3 5 2 -> 3; benchmark 1: 3 + (1 - 3) / 4 = 2.5; MAD median(0 1 1 0 2 1) = 1
    check("logo_churn_rate_pct", 2.5, 1.5)
    # CES 6 meets the benchmark 5.5: hold 6; no spread -> amber 0
    check("ces_avg", 6.0, 0.0)
    # promoters 50 in 5 months (2026-01 null); no benchmark, a percentage: 50 + (100 - 50) / 10 = 55
    check("nps_promoters_pct", 55.0, 5.0)
    # amber share (lower is better) 20: 20 - 20 / 10 = 18
    check("health_amber_pct", 18.0, 2.0)
    # MRR 1000 … 1500 -> 1250 (with 2025-09's 0 it would be 1200); 5 % better: 1312.5;
    # MAD median(250 150 50 50 150 250) = 150 -> amber 62.5 + 150
    check("mrr_end", 1312.5, 212.5)

    text = out.read_text()
    assert "# nps: baseline 30 = median of 6 month(s) (2025-10 20, 2025-11 30, 2025-12 25, 2026-01 35, 2026-02 30, " \
           "2026-03 40); target 32.5: a quarter of the gap to the benchmark 40; amber 7.5 = 2.5 (target − baseline) " \
           "+ 5 (median absolute deviation)" in text
    assert "#   benchmark source: Bain & Company" in text
    assert "# nps_promoters_pct: baseline 50 = median of 5 month(s)" in text
    assert "# no value in those months, so no suggestion: cltv" in text
    assert got["nps"].source.startswith("csreport targets suggest: baseline 30")


def test_suggestion_goes_straight_to_targets(history, company, tmp_path):
    code, stdout, err = run_cli("targets", "suggest", "--history", history, "--months", "3")
    assert code == 0, err
    # last 3 months: NPS 35 30 40 -> 35; 35 + (40 - 35) / 4 = 36.25; MAD median(0 5 5) = 5 -> amber 6.25
    nps = yaml.safe_load(stdout)["metrics"]["nps"]
    assert (nps["target"], nps["amber"]) == (36.25, 6.25)
    path = tmp_path / "t.yaml"
    path.write_text(stdout)
    doc = metrics_of(company, "2026-03", "--targets", str(path))
    # March NPS 25 misses 36.25 by 11.25 > 6.25 -> red; churn 25 % vs 3 months 4 5 2 -> 4 - 3/4 = 3.25 -> red
    assert doc["status"]["nps"] == "red" and doc["targets"]["nps"]["target"] == 36.25
    assert doc["status"]["csat_pct"] is None  # no CSAT history, so no target


@pytest.mark.parametrize("args, code, words", [
    (["--months", "8"], 7, "holds 7 month(s) of company-wide metrics (2025-09 … 2026-03), fewer than the 8"),
    (["--months", "0"], 2, "--months must be at least 1"),
])
def test_too_few_months_and_bad_n(history, args, code, words):
    got, out, err = run_cli("targets", "suggest", "--history", history, *args)
    assert (got, out) == (code, "")
    assert words in err


def test_missing_and_corrupt_history(tmp_path):
    code, _, err = run_cli("targets", "suggest", "--history", tmp_path / "none.sqlite")
    assert code == 7 and "does not exist" in err and "csreport backfill" in err
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_text("period,metric\n2026-01,nps\n")
    code, _, err = run_cli("targets", "suggest", "--history", corrupt)
    assert code == 7 and "cannot read the history store" in err and "not a database" in err
    empty = tmp_path / "empty.sqlite"
    History(empty).write_period("2026-01", {}, {}, "x")  # a store with the table but no rows
    code, _, err = run_cli("targets", "suggest", "--history", empty)
    assert code == 7 and "holds 0 month(s)" in err
