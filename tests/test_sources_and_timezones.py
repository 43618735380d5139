"""The same company read from Parquet and DuckDB; time-zone handling of period and day boundaries."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from conftest import events_in_nanoseconds, metrics_of, run_cli, write_company

from csreport.data.schema import TABLE_NAMES as TABLES


def test_parquet_folder_gives_the_same_metrics(company, march, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    for name in TABLES:
        pd.read_csv(company / f"{name}.csv", dtype=str, keep_default_na=False).to_parquet(folder / f"{name}.parquet")
    assert metrics_of(folder)["metrics"] == march["metrics"]


def test_duckdb_file_with_typed_columns_gives_the_same_metrics(company, march, tmp_path):
    db = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(db))
    for name in TABLES:
        # DuckDB's own type detection: timestamps become TIMESTAMP WITH TIME ZONE, dates DATE, mrr DOUBLE
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv_auto('{company / (name + '.csv')}')")
    con.close()
    assert metrics_of(db)["metrics"] == march["metrics"]


def test_events_as_a_folder_of_parquet_parts(company, march, tmp_path):
    expected = march["metrics"]
    events = pd.read_csv(company / "events.csv")
    (company / "events.csv").unlink()
    (company / "events").mkdir()
    events.iloc[:3].to_parquet(company / "events" / "part-0.parquet")
    events.iloc[3:].to_parquet(company / "events" / "part-1.parquet")
    assert metrics_of(company)["metrics"] == expected


def test_two_files_for_one_table_is_an_error(company):
    pd.read_csv(company / "events.csv").to_parquet(company / "events.parquet")
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03")
    assert code == 3 and "events.parquet, events.csv" in err


def _tz_company(tmp_path):
    events = [
        ("A", "u1", "login", "2026-03-01T03:00:00Z"),  # New York: Feb 28 22:00 -> out
        ("A", "u1", "login", "2026-03-01T06:00:00Z"),  # New York: Mar 1 01:00
        ("B", "u1", "export", "2026-04-01T02:00:00Z"),  # New York: Mar 31 22:00 -> in
        ("B", "u2", "export", "2026-04-01T05:00:00Z"),  # New York: Apr 1 01:00 -> out
        ("A", "u2", "search", "2026-03-15 23:30:00"),  # naive: wall-clock time of the configured zone
        ("A", "u3", "search", "2026-03-31 23:30:00"),
    ]
    # across the spring-forward night of 2026-03-08 in New York: 24 wall-clock hours are 23 real hours
    tickets = [("T1", "A", "2026-03-07 12:00:00", "2026-03-07 13:00:00", "2026-03-08 12:00:00")]
    return write_company(tmp_path / "tz", events=events, tickets=tickets)


def test_time_zone_moves_month_and_day_boundaries(tmp_path):
    src = _tz_company(tmp_path)
    config_path = tmp_path / "ny.yaml"
    config_path.write_text("timezone: America/New_York\n")
    ny = metrics_of(src, "2026-03", "--config", str(config_path))["metrics"]
    utc = metrics_of(src, "2026-03")["metrics"]
    # New York: A/u1 (Mar 1), B/u1 (Mar 31), A/u2 (Mar 15), A/u3 (Mar 31): 4 users, 4 user-days
    assert ny["mau"] == 4 and ny["dau_avg"] == pytest.approx(4 / 31)
    # UTC: A/u1 (Mar 1, twice), A/u2, A/u3; B's events fall in April: 3 users, 3 user-days
    assert utc["mau"] == 3 and utc["dau_avg"] == pytest.approx(3 / 31)
    # real elapsed time across the DST change
    assert ny["resolution_median_hours"] == pytest.approx(23.0)
    assert utc["resolution_median_hours"] == pytest.approx(24.0)


@pytest.mark.parametrize("stamp_type", ["timestamp[ns, tz=UTC]", "timestamp[ns]"])
def test_nanosecond_timestamps_are_read_and_rounded_down_to_the_microsecond(company, march, stamp_type):
    """pandas before 3.0 writes timestamps to Parquet in nanoseconds (DuckDB: TIMESTAMPTZ_NS, TIMESTAMP_NS).
    They give the hand company's metrics; and an event 0.4 µs before April belongs to March: rounded down to
    the microsecond, not to the nearest one (which would be April's first instant)."""
    events_in_nanoseconds(company, stamp_type)
    got = metrics_of(company)
    assert got["metrics"]["mau"] == march["metrics"]["mau"] + 1 == 5  # A/u1, A/u2, B/u1, G/u9 and B/u5


def test_int96_parquet_timestamps_are_utc_instants(company, tmp_path):
    """INT96 timestamps (Spark, Hive and Impala write them) hold UTC instants, as Spark reads them. DuckDB gives
    them without time zone: read as wall-clock time of the config's zone, every event would move by its offset.
    Berlin (UTC+1 until 29 March, then UTC+2), the hand company's events:
    - A/u1 at 2026-02-28T23:59:59Z is 00:59:59 on 1 March in Berlin: in March (as wall-clock time: February);
    - B/u1 at 2026-03-31T23:59:59Z is 01:59:59 on 1 April in Berlin: out (as wall-clock time: March).
    March's users: A/u1, A/u2 and G/u9, so MAU 3 (4 with B/u1, had the stamps been read as wall-clock time)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    config_path = tmp_path / "berlin.yaml"
    config_path.write_text("timezone: Europe/Berlin\n")
    expected = metrics_of(company, "2026-03", "--config", str(config_path))  # the CSV's text with 'Z': instants
    assert expected["metrics"]["mau"] == 3
    for table, stamps in (("events", ["occurred_at"]), ("tickets", ["created_at", "first_response_at",
                                                                    "resolved_at"])):
        frame = pd.read_csv(company / f"{table}.csv", dtype=str)
        (company / f"{table}.csv").unlink()
        columns = {name: pa.array(frame[name].tolist(), pa.string()) for name in frame.columns if name not in stamps}
        columns |= {name: pa.array(pd.to_datetime(frame[name], utc=True, format="ISO8601")) for name in stamps}
        pq.write_table(pa.table(columns), company / f"{table}.parquet", use_deprecated_int96_timestamps=True)
    assert duckdb.sql(f"SELECT DISTINCT type FROM parquet_schema('{company / 'tickets.parquet'}') "
                      "WHERE name = 'created_at'").fetchall() == [("INT96",)]
    got = metrics_of(company, "2026-03", "--config", str(config_path))
    assert got["metrics"] == expected["metrics"] and got["metrics"]["mau"] == 3
