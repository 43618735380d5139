"""The same rows give the same metrics, key for key, on every source and engine (SPEC §1, §6).

Real engines: a PostgreSQL server on loopback (tests/pgserver.py) and PySpark in local mode, one of
each per test run. The reference is the CSV folder read by DuckDB, whose values the other test
modules check by hand.
"""
from __future__ import annotations

import json
import shutil

import duckdb
import pandas as pd
import pytest
from conftest import (
    ENGINES,
    EVENTS,
    events_in_nanoseconds,
    events_to_parquet,
    load_into_postgres,
    metrics_of,
    on_engine,
    run_cli,
    write_company,
)
from test_sources_and_timezones import TABLES, _tz_company


def _everything(doc: dict) -> dict:
    """What must agree across engines: every metric, company-wide and per segment, and every null's reason."""
    return {"metrics": doc["metrics"], "notes": doc["notes"],
            "segments": {k: v["metrics"] for k, v in doc["segments"].items()}}


def test_company_is_identical_on_csv_duckdb_postgresql_and_spark(company, tmp_path, request):
    expected = _everything(metrics_of(company))
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    for name in TABLES:  # typed columns: TIMESTAMP WITH TIME ZONE, DATE, DOUBLE
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{company / (name + '.csv')}')")
    con.close()
    assert _everything(metrics_of(db)) == expected
    for engine in ("postgresql", "spark"):
        data_source, extra = on_engine(engine, company, request)
        assert _everything(metrics_of(data_source, "2026-03", *extra)) == expected, engine


def test_typed_postgresql_columns_give_the_same_metrics(company, pg):
    url = load_into_postgres(pg, company, {
        "events": {"occurred_at": "timestamptz"}, "revenue": {"mrr": "numeric"},
        "accounts": {"signup_date": "date", "onboarded_at": "date"}, "tickets": {"created_at": "timestamptz"},
        "referrals": {"converted": "boolean"}, "invoices": {"due_date": "date", "amount": "double precision"}})
    assert _everything(metrics_of(url)) == _everything(metrics_of(company))


def test_spark_over_a_typed_parquet_folder_and_a_catalog_table(company, tmp_path, spark_ready):
    expected = _everything(metrics_of(company))
    parts = tmp_path / "lake"
    shutil.copytree(company, parts)
    events_to_parquet(parts, typed_time=True)  # occurred_at: TIMESTAMP (UTC instants)
    frame = pd.read_parquet(parts / "events.parquet")
    (parts / "events.parquet").unlink()
    (parts / "events").mkdir()
    frame.iloc[:3].to_parquet(parts / "events" / "part-0.parquet")
    frame.iloc[3:].to_parquet(parts / "events" / "part-1.parquet")
    assert _everything(metrics_of(parts, "2026-03", "--engine", "spark")) == expected

    # a table of the session's catalog, and no events in the data folder
    shutil.move(parts / "events", tmp_path / "warehouse")
    spark_ready.read.parquet(str(tmp_path / "warehouse")).createOrReplaceTempView("crm_events")
    config_path = tmp_path / "catalog.yaml"
    config_path.write_text("engine: spark\nspark:\n  events_table: crm_events\n")
    assert _everything(metrics_of(parts, "2026-03", "--config", config_path)) == expected


@pytest.mark.parametrize("engine", ["postgresql", "spark"])
def test_time_zones_are_identical_on_every_engine(engine, tmp_path, request):
    src = _tz_company(tmp_path)
    config_path = tmp_path / "ny.yaml"
    config_path.write_text("timezone: America/New_York\n")
    data_source, extra = on_engine(engine, src, request)
    for args in (["--config", str(config_path)], []):
        on_it = metrics_of(data_source, "2026-03", *args, *extra)
        assert _everything(on_it) == _everything(metrics_of(src, "2026-03", *args))


def test_postgresql_reads_naive_text_in_the_config_zone_whatever_the_client_pgtz(tmp_path, pg, monkeypatch):
    """libpq sends the client's PGTZ when it connects: naive texts must not follow it. The hand company's
    events without 'Z' are wall-clock time of the config's zone (UTC here), so they give the same metrics
    as with it: MAU 4 (A/u1, A/u2, B/u1, G/u9). Read in Kolkata (UTC+5:30), A/u1's '2026-03-01T00:00:00'
    would be 18:30 UTC on 28 February, and B/u1's '2026-04-01T00:00:00' 18:30 UTC on 31 March."""
    naive = [(account, user, event, stamp.removesuffix("Z")) for account, user, event, stamp in EVENTS]
    src = write_company(tmp_path / "naive", events=naive)
    expected = metrics_of(write_company(tmp_path / "instants"))
    assert expected["metrics"]["mau"] == 4
    monkeypatch.setenv("PGTZ", "Asia/Kolkata")
    monkeypatch.setenv("PGDATESTYLE", "SQL, DMY")
    assert _everything(metrics_of(load_into_postgres(pg, src))) == _everything(expected)


def test_postgresql_password_comes_from_the_environment_only(company, pg, monkeypatch):
    url = load_into_postgres(pg, company)
    secret_url = url.replace("csreport@", "csreport:hunter2@")
    code, out, err = run_cli("metrics", "--data", secret_url, "--period", "2026-03")
    assert code == 2 and "PGPASSWORD" in err and "hunter2" not in err + out
    monkeypatch.setenv("PGPASSWORD", "wrong")
    code, out, err = run_cli("metrics", "--data", url, "--period", "2026-03")
    assert code == 3 and "could not connect" in err and "PGPASSWORD" in err and "wrong" not in err.split("user")[0]
    monkeypatch.setenv("PGPASSWORD", "test-only-secret")
    doc = metrics_of(url)
    text = json.dumps(doc)
    assert "test-only-secret" not in text
    assert doc["data_quality"]["events"]["location"].startswith(url.split("?")[0])


def test_postgresql_bad_rows_are_reported_like_files(company, pg, tmp_path):
    bad = write_company(tmp_path / "bad", events=[
        ("A", "u1", "login", "2026-03-01T00:00:00Z"),
        ("A", "u1", "login", "2026-02-30T10:00:00"),  # no such day
        ("ZZZ", "u1", "login", "2026-03-02T10:00:00Z"),  # unknown account
        ("A", "", "login", "2026-03-03T10:00:00Z"),  # empty user
    ], revenue=[("A", "2026-03", "lots")])
    for data_source in (str(bad), load_into_postgres(pg, bad)):
        code, _, err = run_cli("metrics", "--data", data_source, "--period", "2026-03")
        assert code == 3 and "revenue.mrr: unparsable float in 1 row (rows 1; values 'lots')" in err, err
    fixed = write_company(tmp_path / "bad-events", events=[
        ("A", "u1", "login", "2026-03-01T00:00:00Z"),
        ("A", "u1", "login", "2026-02-30T10:00:00"),
        ("ZZZ", "u1", "login", "2026-03-02T10:00:00Z"),
        ("A", "", "login", "2026-03-03T10:00:00Z"),
    ])
    messages = []
    for data_source in (str(fixed), load_into_postgres(pg, fixed)):
        code, _, err = run_cli("metrics", "--data", data_source, "--period", "2026-03")
        assert code == 3
        messages.append(sorted(line for line in err.splitlines() if line.startswith("  - ")))
    assert messages[0] == messages[1]
    assert any("events.occurred_at: unparsable timestamp in 1 row" in m and "2026-02-30T10:00:00" in m
               for m in messages[1])
    assert any("events.account_id: unknown account_id in 1 row" in m and "ZZZ" in m for m in messages[1])
    assert any("events.user_id: empty value in 1 row" in m for m in messages[1])

    rejects = tmp_path / "rejects"
    code, out, err = run_cli("metrics", "--data", load_into_postgres(pg, fixed), "--period", "2026-03",
                             "--on-invalid", "quarantine", "--rejects", rejects, "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    # the three bad rows are set aside; the one good event (A/u1, March 1) remains: MAU 1
    assert doc["data_quality"]["events"]["rejected"] == 3 and doc["metrics"]["mau"] == 1
    assert len(pd.read_csv(rejects / "events.csv")) == 3


@pytest.mark.parametrize("stamp_type", ["timestamp[ns, tz=UTC]", "timestamp[ns]"])
def test_spark_reads_nanosecond_parquet_rounded_down_to_the_microsecond(company, stamp_type, spark_ready):
    """Spark refuses nanosecond Parquet timestamps (pandas before 3.0 writes them): read as integers and
    floored to microseconds, they give what DuckDB gives. B/u5 at 23:59:59.9999996 on 31 March is in March:
    MAU 5 (A/u1, A/u2, B/u1, G/u9 and B/u5); rounded to the nearest microsecond it would be April's."""
    events_in_nanoseconds(company, stamp_type)
    on_spark = metrics_of(company, "2026-03", "--engine", "spark")
    assert on_spark["metrics"]["mau"] == 5
    assert _everything(on_spark) == _everything(metrics_of(company))


def test_spark_says_how_to_write_nanoseconds_it_cannot_read(company, spark_ready, monkeypatch):
    """A cluster path (s3a://...) is not on this machine: its nanosecond columns cannot be found ahead."""
    import csreport.data.spark

    events_in_nanoseconds(company, "timestamp[ns, tz=UTC]")
    monkeypatch.setattr(csreport.data.spark, "nanosecond_columns", lambda path: {})
    spark_ready.conf.set("spark.sql.legacy.parquet.nanosAsLong", "false")  # as in a new session
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--engine", "spark")
    assert code == 3 and "write them in microseconds" in err and "coerce_timestamps='us'" in err


def test_missing_pyspark_says_how_to_install(company, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--engine", "spark")
    assert code == 2 and "pip install 'csreport[spark]'" in err


@pytest.mark.parametrize("engine", ENGINES)
def test_invisible_characters_in_counted_names_are_bad_input_on_every_engine(engine, tmp_path, request):
    """'u1' with a zero-width space and 'login' behind a byte-order mark would count as another user and
    another feature while looking the same: every engine reports them by column (one pattern, three dialects)."""
    events = [("A", "u1", "login", "2026-03-01T00:00:00Z"),
              ("A", "u\u200b1", "login", "2026-03-02T00:00:00Z"),  # zero-width space inside the user id
              ("A", "u1", "\ufefflogin", "2026-03-03T00:00:00Z")]  # byte-order mark before the event name
    data_source, flags = on_engine(engine, write_company(tmp_path / "hidden", events=events), request)
    code, _, err = run_cli("metrics", "--data", data_source, "--period", "2026-03", *flags)
    assert code == 3, err
    assert "events.user_id: invisible character in 1 row" in err and "u\\u200b1" in err
    assert "events.event: invisible character in 1 row" in err and "\\ufefflogin" in err


def test_spark_needs_parquet_events(company, tmp_path, spark_ready):
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    for name in TABLES:
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{company / (name + '.csv')}')")
    con.close()
    code, _, err = run_cli("metrics", "--data", db, "--period", "2026-03", "--engine", "spark")
    assert code == 2 and "spark.events_path" in err


@pytest.mark.slow
def test_csreport_run_gives_the_same_numbers_on_postgresql_and_spark(company, tmp_path, request):
    # the report notebook runs in its own kernel: it gets the URL (no password) as a parameter, the
    # password through PGPASSWORD, and --engine through the environment
    documents = {}
    for engine in ENGINES:
        data_source, extra = on_engine(engine, company, request)
        out = tmp_path / f"out-{engine}"
        code, _, err = run_cli("run", "--data", data_source, "--period", "2026-03", "--out", out, "--format", "html",
                               "--quiet", *extra)
        assert code == 0, err
        documents[engine] = json.loads((out / "2026-03" / "metrics.json").read_text())
        notebook = (out / "2026-03" / "executive_summary.ipynb").read_text()
        assert "test-only-secret" not in notebook
    assert documents["postgresql"]["provenance"]["source"].startswith("postgresql://csreport@127.0.0.1:")
    assert documents["spark"]["data_quality"]["events"]["location"].startswith("Spark over ")
    for engine in ("postgresql", "spark"):
        assert _everything(documents[engine]) == _everything(documents["duckdb"]), engine
