"""Bad input stops the run with a message naming table, column and rows (SPEC §1), or is quarantined."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ACCOUNTS, EVENTS, REVENUE, SURVEYS, TICKETS, run_cli, with_ticket_ids, write_company


def fails(source, *extra) -> str:
    code, out, err = run_cli("metrics", "--data", source, "--period", "2026-03", "--quiet", *extra)
    assert code == 3, (code, err)
    assert out == ""
    return err


def test_missing_required_table(tmp_path):
    src = write_company(tmp_path / "s", revenue=None)
    err = fails(src)
    assert "revenue: required table is missing" in err


def test_missing_column(tmp_path):
    src = write_company(tmp_path / "s")
    frame = pd.read_csv(src / "surveys.csv").drop(columns="score")
    frame.to_csv(src / "surveys.csv", index=False)
    err = fails(src)
    assert "surveys.score: required column is missing" in err


def test_wrong_type(tmp_path):
    revenue = REVENUE[:3] + [("B", "2026-01", "two hundred")] + REVENUE[4:]
    err = fails(write_company(tmp_path / "s", revenue=revenue))
    assert "revenue.mrr: unparsable float in 1 row (rows 4; values 'two hundred')" in err


def test_duplicate_key(tmp_path):
    surveys = SURVEYS + [("S3", "C", "nps", 7, "2026-03-06T00:00:00Z", "")]
    err = fails(write_company(tmp_path / "s", surveys=surveys))
    # S3 is row 3 and the copy the last row (16)
    assert "surveys.response_id: duplicate key in 2 rows (rows 3, 16; values 'S3', 'S3')" in err


def test_duplicate_revenue_month_in_both_spellings(tmp_path):
    revenue = REVENUE + [("A", "2026-03-01", 999)]  # same month as ("A", "2026-03")
    err = fails(write_company(tmp_path / "s", revenue=revenue))
    assert "revenue.account_id+month: duplicate key in 2 rows (rows 3, 15" in err


def test_score_out_of_range(tmp_path):
    surveys = SURVEYS + [("S99", "A", "csat", 6, "2026-03-06T00:00:00Z", ""), ("S98", "A", "nps", 11, "2026-03-06", "")]
    err = fails(write_company(tmp_path / "s", surveys=surveys))
    assert "surveys.score: score out of range 0-10 for nps in 1 row (rows 17; values '11')" in err
    assert "surveys.score: score out of range 1-5 for csat in 1 row (rows 16; values '6')" in err


def test_unknown_account_id(tmp_path):
    tickets = TICKETS + [("T9", "ZZZ", "2026-03-02T00:00:00Z", "", "")]
    err = fails(write_company(tmp_path / "s", tickets=tickets))
    assert "tickets.account_id: unknown account_id in 1 row (rows 9; values 'ZZZ')" in err
    assert "only by spaces" not in err  # 'ZZZ' is unknown, not a listed id with spaces


def test_an_account_id_with_spaces_is_unknown_and_the_message_says_why(tmp_path):
    tickets = TICKETS + [("T9", " A ", "2026-03-02T00:00:00Z", "", "")]  # account A, written with spaces
    err = fails(write_company(tmp_path / "s", tickets=tickets))
    assert ("tickets.account_id: unknown account_id in 1 row (rows 9; values ' A '). Every account_id must be "
            "listed in the accounts table. Some of these differ from a listed account_id only by spaces at the "
            "start or end: remove them from the source.") in err


def test_unknown_account_in_events_names_the_rows(tmp_path):
    events = EVENTS + [("NOPE", "u1", "login", "2026-03-03T00:00:00Z")]
    err = fails(write_company(tmp_path / "s", events=events))
    assert "events.account_id: unknown account_id in 1 row" in err
    assert "account_id=NOPE, user_id=u1, event=login, occurred_at=2026-03-03T00:00:00Z" in err
    assert "Every account_id must be listed in the accounts table." in err and "only by spaces" not in err
    spaced = EVENTS + [("A ", "u1", "login", "2026-03-03T00:00:00Z")]  # account A with a trailing space
    err = fails(write_company(tmp_path / "t", events=spaced))
    assert "account_id=A , user_id=u1" in err
    assert ("Some of these differ from a listed account_id only by spaces at the start or end: remove them from "
            "the source.") in err


def test_unparsable_date_and_timestamp(tmp_path):
    accounts = ACCOUNTS[:2] + [("C", "Cedar", "SMB", "31/12/2025", "")] + ACCOUNTS[3:]
    err = fails(write_company(tmp_path / "s", accounts=accounts))
    assert "accounts.signup_date: unparsable date in 1 row (rows 3; values '31/12/2025')" in err
    assert "YYYY-MM-DD" in err

    events = EVENTS + [("A", "u1", "login", "yesterday")]
    err = fails(write_company(tmp_path / "t", events=events))
    assert "events.occurred_at: unparsable timestamp in 1 row" in err and "occurred_at=yesterday" in err


def test_ticket_resolved_before_created(tmp_path):
    tickets = TICKETS + [("T9", "A", "2026-03-05T00:00:00Z", "", "2026-03-04T00:00:00Z")]
    err = fails(write_company(tmp_path / "s", tickets=tickets))
    assert "tickets.resolved_at: earlier than created_at in 1 row (rows 9" in err


def test_onboarded_before_signup(tmp_path):
    accounts = ACCOUNTS + [("Z", "Zed", "SMB", "2026-03-10", "2026-03-01")]
    err = fails(write_company(tmp_path / "s", accounts=accounts))
    assert "accounts.onboarded_at: earlier than signup_date in 1 row (rows 14; values '2026-03-01')" in err


def test_empty_file(tmp_path):
    src = write_company(tmp_path / "s")
    (src / "tickets.csv").write_bytes(b"")
    err = fails(src)
    assert "tickets: the file is empty" in err


def test_header_only_accounts(tmp_path):
    src = write_company(tmp_path / "s", accounts=[])
    err = fails(src)
    # accounts.csv has its header and nothing else: the table, the rule and the file are named
    assert "accounts: the table has no rows." in err and "accounts.csv has a header but no data" in err


def test_non_utf8_csv(tmp_path):
    src = write_company(tmp_path / "s")
    text = (src / "accounts.csv").read_text(encoding="utf-8").replace("Cedar", "Café")
    (src / "accounts.csv").write_bytes(text.encode("latin-1"))
    err = fails(src)
    assert "accounts: the file is not UTF-8" in err
    assert "line 4" in err and "0xe9" in err


def test_error_message_says_how_to_fix(tmp_path):
    tickets = TICKETS + [("T9", "ZZZ", "2026-03-02T00:00:00Z", "", "")]
    err = fails(write_company(tmp_path / "s", tickets=tickets))
    assert "--on-invalid=quarantine" in err


def test_quarantine_sets_rows_aside_and_goes_on(tmp_path):
    tickets = TICKETS + [("T9", "ZZZ", "2026-03-02T00:00:00Z", "", "")]
    events = EVENTS + [("A", "u1", "login", "not a time"), ("NOPE", "u1", "login", "2026-03-03T00:00:00Z")]
    src = write_company(tmp_path / "s", tickets=tickets, events=events)
    rejects = tmp_path / "rejects"
    code, out, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--on-invalid", "quarantine",
                             "--rejects", rejects)
    assert code == 0, err
    doc = json.loads(out)
    # the metrics equal those of the clean company: nothing else was dropped
    assert doc["metrics"]["tickets_created"] == 5 and doc["metrics"]["mau"] == 4
    quality = doc["data_quality"]
    assert quality["tickets"]["rejected"] == 1 and quality["events"]["rejected"] == 2
    bad_tickets = pd.read_csv(rejects / "tickets.csv")
    assert list(bad_tickets["ticket_id"]) == ["T9"]
    assert "unknown account_id" in bad_tickets["_problem"][0]
    bad_events = pd.read_csv(rejects / "events.csv")
    assert sorted(bad_events["account_id"]) == ["A", "NOPE"]
    assert "set aside 1 invalid row" in err


def test_column_mapping_from_config(tmp_path):
    src = write_company(tmp_path / "s")
    frame = pd.read_csv(src / "accounts.csv").rename(columns={"account_id": "Customer ID", "segment": "Tier"})
    frame.to_csv(src / "accounts.csv", index=False)
    config_path = tmp_path / "c.yaml"
    config_path.write_text("columns:\n  accounts: {account_id: Customer ID, segment: Tier}\n")
    code, out, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--config", config_path, "--quiet")
    assert code == 0, err
    assert json.loads(out)["metrics"]["customers_end"] == 5


def test_missing_mapped_column_names_the_mapping(tmp_path):
    src = write_company(tmp_path / "s")
    config_path = tmp_path / "c.yaml"
    config_path.write_text("columns:\n  accounts: {segment: Tier}\n")
    code, _, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--config", config_path, "--quiet")
    assert code == 3
    assert "accounts.segment: required column is missing" in err and "'Tier'" in err


def test_invalid_config_is_reported(tmp_path):
    src = write_company(tmp_path / "s")
    config_path = tmp_path / "c.yaml"
    config_path.write_text("timezone: Mars/Olympus\nhealth: {weights: {usage: 0.9}, backtest_months: 0}\n"
                           "sla_hourz: 4\n")
    code, _, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--config", config_path)
    assert code == 2
    assert "timezone" in err and "Mars/Olympus" in err
    assert "health.weights" in err and "add up to 1.0" in err
    assert "health.backtest_months" in err and "greater than or equal to 1" in err
    assert "sla_hourz" in err


@pytest.mark.parametrize("infinite", [".inf", "-.inf", ".nan", "1e400"])
def test_an_infinite_or_nan_setting_is_a_config_error(tmp_path, infinite):
    # YAML reads these as floats; sla_hours: .inf made every ticket meet its SLA, and metrics.json held Infinity
    config_path = tmp_path / "c.yaml"
    config_path.write_text(f"sla_hours: {infinite}\nhealth: {{weights: {{usage: {infinite}}}}}\n")
    code, out, err = run_cli("metrics", "--data", write_company(tmp_path / "s"), "--period", "2026-03",
                             "--config", config_path)
    assert (code, out) == (2, "")
    assert "sla_hours: Input should be a finite number" in err and "health.weights.usage: Input should be a finite" \
        in err, err


def test_bad_period_argument(company):
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-13")
    assert code == 2 and "YYYY-MM" in err


def test_unknown_ticket_id_in_surveys(tmp_path):
    # S3 (row 3) and S9 (row 9) name tickets the tickets table does not hold
    src = with_ticket_ids(write_company(tmp_path / "s"), {"S3": "T99", "S8": "T1", "S9": "NOPE"})
    err = fails(src)
    assert "surveys.ticket_id: unknown ticket_id in 2 rows (rows 3, 9; values 'T99', 'NOPE')" in err
    assert "tickets table" in err and "--on-invalid=quarantine" in err


def test_unknown_ticket_id_is_quarantined(tmp_path):
    src = with_ticket_ids(write_company(tmp_path / "s"), {"S8": "T1", "S9": "T99"})
    rejects = tmp_path / "rejects"
    code, out, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--on-invalid", "quarantine",
                             "--rejects", rejects, "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["data_quality"]["surveys"]["rejected"] == 1
    bad = pd.read_csv(rejects / "surveys.csv")
    assert list(bad["response_id"]) == ["S9"] and "ticket_id: unknown ticket_id" in bad["_problem"][0]
    # S9 (CSAT 4) set aside: CSAT 5, 3, 2, 4 -> 2 of 4; support CSAT: S8 (5, T1) alone -> 100 %
    assert doc["metrics"]["csat_pct"] == 50.0 and doc["metrics"]["csat_responses"] == 4
    assert (doc["metrics"]["support_csat_responses"], doc["metrics"]["support_csat_pct"]) == (1, 100.0)


def test_ticket_id_of_a_quarantined_ticket_is_unknown(tmp_path):
    # T9 names an unknown account and is set aside, so the survey rating it names no ticket either
    tickets = TICKETS + [("T9", "ZZZ", "2026-03-02T00:00:00Z", "", "")]
    src = with_ticket_ids(write_company(tmp_path / "s", tickets=tickets), {"S8": "T9"})
    code, out, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--on-invalid", "quarantine",
                             "--rejects", tmp_path / "rejects", "--quiet")
    assert code == 0, err
    quality = json.loads(out)["data_quality"]
    assert quality["tickets"]["rejected"] == 1 and quality["surveys"]["rejected"] == 1


def test_ticket_id_without_tickets_table_is_not_checked(tmp_path):
    src = with_ticket_ids(write_company(tmp_path / "s", tickets=None), {"S8": "T1", "S9": "T99"})
    code, out, err = run_cli("metrics", "--data", src, "--period", "2026-03", "--quiet")
    assert code == 0, err
    m = json.loads(out)["metrics"]
    # S8 5 and S9 4 rate a ticket: 2 of 2 satisfied
    assert (m["support_csat_responses"], m["support_csat_pct"]) == (2, 100.0)

