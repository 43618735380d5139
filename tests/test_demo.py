"""The demo company: deterministic for a seed, valid against SPEC §1, with the behaviour it promises."""
from __future__ import annotations

import hashlib
import subprocess
import sys

from conftest import metrics_of

from csreport.demo import generate_demo
from csreport.periods import Period

SCRIPT = ("import sys; from csreport.demo import generate_demo; from csreport.periods import Period; "
          "generate_demo(sys.argv[1], seed=3, scale=0.01, end=Period(2026, 10), accounts=150)")


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_data_across_processes(tmp_path):
    # separate interpreters: different hash seeds must not change the data
    for name, seed in (("a", "1"), ("b", "2")):
        subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / name)], check=True, capture_output=True,
                       env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"})
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")


def test_demo_is_valid_and_plausible(tmp_path):
    folder = generate_demo(tmp_path / "demo", seed=5, scale=0.05, end=Period(2026, 10), accounts=300)
    doc = metrics_of(folder, "2026-10")  # loads with validation on: the demo breaks no SPEC §1 rule
    m = doc["metrics"]
    assert 0 < m["logo_churn_rate_pct"] < 10
    assert 90 < m["nrr_pct"] < 115
    assert m["nps_responses"] > 0 and -100 <= m["nps"] <= 100
    assert m["customers_reactivated"] >= 0 and m["tickets_created"] > 0
    assert 50 < m["active_accounts_pct"] < 100
    assert len(m["feature_adoption_pct"]) > 10
    assert set(doc["segments"]) == {"SMB", "Mid-Market", "Enterprise"}


def test_support_csat_names_a_ticket_of_the_same_account(tmp_path):
    """CSAT answered after a ticket names it (so support CSAT is not null); in-app CSAT names none."""
    import pandas as pd

    folder = generate_demo(tmp_path / "demo", seed=5, scale=0.02, end=Period(2026, 10), accounts=300)
    surveys = pd.read_csv(folder / "surveys.csv", dtype=str, keep_default_na=False)
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False).set_index("ticket_id")
    rated = surveys[surveys["ticket_id"] != ""]
    assert set(rated["survey"]) == {"csat"}
    assert (tickets.loc[rated["ticket_id"], "account_id"].to_numpy() == rated["account_id"].to_numpy()).all()
    # answered after the ticket was resolved (ISO 8601 UTC strings order as instants)
    assert (tickets.loc[rated["ticket_id"], "resolved_at"].to_numpy() < rated["responded_at"].to_numpy()).all()
    csat = surveys[surveys["survey"] == "csat"]
    assert 0 < len(rated) < len(csat)  # some CSAT rates the product, not a ticket
    m = metrics_of(folder, "2026-10")["metrics"]
    assert m["support_csat_responses"] > 0 and 0 < m["support_csat_pct"] < 100
    assert m["support_csat_responses"] < m["csat_responses"]


def test_a_visit_lasts_minutes(tmp_path):
    """A user's events of one day are minutes apart: sessions last minutes, not 0 (at ~2 events a user-day,
    the events-per-account density of the full-scale demo)."""
    folder = generate_demo(tmp_path / "demo", seed=5, scale=0.05, end=Period(2026, 10), accounts=100)
    m = metrics_of(folder, "2026-10")["metrics"]
    assert 1 < m["session_minutes_median"] < 30 and m["sessions_per_user_avg"] > 1
