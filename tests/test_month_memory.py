"""Remembered month aggregates (csreport.data.events.MonthMemory): a report pays for its own month.

Issue 15: the comparisons (P−1, P−12), the backtest month and an account's history are aggregated once
per unchanged events files and then read back; the reported month is always aggregated from the events.
A remembered month must be exactly the month computed, and a changed file or setting is computed again.
The hand company (conftest) has one February event, A/u1 login at 2026-02-28T23:59:59Z, and March events
of A (u1, u2), B (u1) and G (u9).
"""
from __future__ import annotations

from dataclasses import fields

import pandas as pd
import pyarrow as pa
import pytest
from conftest import EVENTS, write_company

from csreport.config import Config
from csreport.data import cache as cache_module
from csreport.data import load_dataset
from csreport.data.engines import DuckDBEngine
from csreport.data.events import EngagementAggregates, EventStore
from csreport.model import Calculator
from csreport.periods import Period

FEB, MAR = Period(2026, 2), Period(2026, 3)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A cache of this test's own, and no "racy" window: the files written a moment ago may be remembered."""
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 0.0)


@pytest.fixture
def computed(monkeypatch) -> list[tuple[str, str, bool]]:
    """Every engine pass of month aggregates, as (first, last, sessions)."""
    calls: list[tuple[str, str, bool]] = []
    original = EventStore._computed

    def counting(self, first, last, sessions):
        calls.append((str(first), str(last), sessions))
        return original(self, first, last, sessions)

    monkeypatch.setattr(EventStore, "_computed", counting)
    return calls


def _events(folder, config: Config | None = None) -> EventStore:
    events = load_dataset(folder, config or Config(), quiet=True).events
    assert events is not None
    return events


def test_a_remembered_month_is_exactly_the_month_computed(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    direct = _events(folder).aggregates(FEB, MAR, reusable={FEB})  # one pass; February is remembered
    assert computed == [("2026-02", "2026-03", True)]
    mixed = _events(folder).aggregates(FEB, MAR, reusable={FEB})
    assert computed[1:] == [("2026-03", "2026-03", True)]  # March is computed, February read back
    for field in fields(EngagementAggregates):
        pd.testing.assert_frame_equal(getattr(mixed, field.name), getattr(direct, field.name))
    # February by hand: one event, A/u1 at 23:59:59 -> 1 user of A, 1 session of 0 minutes
    feb = mixed.for_month(FEB)
    assert feb.account_months[["account_id", "users"]].values.tolist() == [["A", 1]]
    assert feb.account_sessions[["account_id", "duration_minutes", "sessions"]].values.tolist() == [["A", 0.0, 1]]


def test_a_month_is_read_back_only_when_reusable_and_remembered_unless_a_backfill(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    _events(folder).aggregates(FEB, MAR, remember=False)  # a backfill: nothing remembered
    _events(folder).aggregates(FEB, MAR, reusable={FEB})  # so February is computed again; both are remembered
    _events(folder).aggregates(FEB, MAR)  # nothing may be read back: computed again
    assert computed == [("2026-02", "2026-03", True)] * 3
    _events(folder).aggregates(FEB, MAR, reusable={FEB, MAR})  # both remembered: no engine pass
    assert len(computed) == 3


def test_last_months_report_month_is_this_months_comparison(tmp_path, computed):
    """The month a report computed is remembered, so next month's report reads it back as P−1."""
    folder = write_company(tmp_path / "co")
    config = Config()
    Calculator(load_dataset(folder, config, quiet=True), config, [MAR], reported=[MAR]).company(MAR)
    before = len(computed)
    april = Period(2026, 4)
    Calculator(load_dataset(folder, config, quiet=True), config, [april, MAR], reported=[april]).company(april)
    assert ("2026-03", "2026-03", True) not in computed[before:]  # March, with sessions, read back
    assert ("2026-04", "2026-04", True) in computed[before:]  # April computed


def test_a_report_computes_its_own_month_and_reads_the_comparisons(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    config = Config()
    months = [MAR, FEB, MAR.shift(-12)]
    first = Calculator(load_dataset(folder, config, quiet=True), config, months, reported=[MAR])
    first_metrics = first.company(MAR).values, first.company(FEB).values
    before = len(computed)
    again = Calculator(load_dataset(folder, config, quiet=True), config, months, reported=[MAR])
    assert [c for c in computed[before:] if c[2]] == [("2026-03", "2026-03", True)]
    assert {c[0] for c in computed[before:]} == {"2026-03"}
    assert (again.company(MAR).values, again.company(FEB).values) == first_metrics


def test_a_changed_events_file_is_aggregated_again(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    _events(folder).aggregates(FEB, MAR, reusable={FEB})
    with open(folder / "events.csv", "a", encoding="utf-8") as out:
        out.write("A,u7,login,2026-02-10T09:00:00Z\n")  # a second February user of A
    feb = _events(folder).aggregates(FEB, FEB, reusable={FEB})
    assert computed[-1] == ("2026-02", "2026-02", True)
    assert feb.for_month(FEB).account_months[["account_id", "users"]].values.tolist() == [["A", 2]]


def test_a_changed_setting_is_aggregated_again(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    _events(folder).aggregates(FEB, FEB, reusable={FEB})
    _events(folder, Config(session_gap_minutes=5)).aggregates(FEB, FEB, reusable={FEB})
    _events(folder, Config(timezone="America/New_York")).aggregates(FEB, FEB, reusable={FEB})
    _events(folder).aggregates(FEB, FEB, reusable={FEB})  # the first settings again: remembered
    assert computed == [("2026-02", "2026-02", True)] * 3


def test_a_month_remembered_in_full_serves_users_only_but_not_the_reverse(tmp_path, computed):
    folder = write_company(tmp_path / "co")
    _events(folder).aggregates(FEB, FEB, sessions=False, reusable={FEB})
    _events(folder).aggregates(FEB, FEB, reusable={FEB})  # sessions needed: not in the remembered month
    _events(folder).aggregates(FEB, FEB, sessions=False, reusable={FEB})  # the full month serves it
    assert computed == [("2026-02", "2026-02", False), ("2026-02", "2026-02", True)]


def test_nothing_is_remembered_with_the_cache_off(tmp_path, computed, monkeypatch):
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, "off")
    folder = write_company(tmp_path / "co")
    _events(folder).aggregates(FEB, FEB, reusable={FEB})
    _events(folder).aggregates(FEB, FEB, reusable={FEB})
    assert len(computed) == 2


def test_a_batch_pass_computes_its_report_month_and_reads_back_the_earlier_ones(tmp_path, computed):
    from csreport.model.shared import share_events

    folder = write_company(tmp_path / "co")
    config = Config()
    share_events(load_dataset(folder, config, quiet=True), FEB, MAR)  # one pass; February is remembered
    share_events(load_dataset(folder, config, quiet=True), FEB, MAR)  # March again, February read back
    assert computed == [("2026-02", "2026-03", True), ("2026-03", "2026-03", True)]


def _part(folder, name: str, rows: list[tuple[str, str, str, str]]) -> None:
    """One Parquet part of the events folder, occurred_at as a UTC timestamp (its footer has the time span)."""
    frame = pd.DataFrame(rows, columns=["account_id", "user_id", "event", "occurred_at"])
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True).astype("datetime64[us, UTC]")
    (folder / "events").mkdir(exist_ok=True)
    frame.to_parquet(folder / "events" / name, index=False)


def _monthly_parts(tmp_path):
    """The hand company's events as one Parquet part per month, April's part not yet there."""
    folder = write_company(tmp_path / "co")
    (folder / "events.csv").unlink()
    _part(folder, "2026-02.parquet", [e for e in EVENTS if e[3].startswith("2026-02")])
    _part(folder, "2026-03.parquet", [e for e in EVENTS if e[3].startswith("2026-03")])
    return folder


def test_a_part_added_for_next_month_leaves_this_months_aggregates_remembered(tmp_path, computed):
    """Events kept as monthly Parquet parts: April's part arrives, March is read back, not scanned again."""
    folder, config, april = _monthly_parts(tmp_path), Config(), Period(2026, 4)
    march = Calculator(load_dataset(folder, config, quiet=True), config, [MAR], reported=[MAR]).company(MAR)
    _part(folder, "2026-04.parquet", [e for e in EVENTS if e[3].startswith("2026-04")])  # B/u1 at 04-01 00:00
    before = len(computed)
    dataset = load_dataset(folder, config, quiet=True)
    assert dataset.events is not None and dataset.events.validation_scans == 3  # April's part alone
    calculator = Calculator(dataset, config, [april, MAR], reported=[april])
    assert [c for c in computed[before:] if c[2]] == [("2026-04", "2026-04", True)]  # March read back
    assert calculator.company(MAR).values == march.values
    # April by hand: one event, B/u1 at the first instant of April -> 1 monthly active user, 1 session
    assert calculator.company(april).values["mau"] == 1


def test_a_new_part_with_rows_of_a_remembered_month_makes_it_computed_again(tmp_path, computed):
    """A late March event arriving in a new part: its footer's span meets March, so March's key changes."""
    folder, config = _monthly_parts(tmp_path), Config()
    first = Calculator(load_dataset(folder, config, quiet=True), config, [MAR], reported=[MAR]).company(MAR)
    assert first.values["mau"] == 4  # March users: A/u1, A/u2, B/u1, G/u9
    _part(folder, "late.parquet", [("B", "u2", "login", "2026-03-20T08:00:00Z")])  # B's second March user
    before = len(computed)
    april = Period(2026, 4)
    calculator = Calculator(load_dataset(folder, config, quiet=True), config, [april, MAR], reported=[april])
    assert any(c[0] <= "2026-03" <= c[1] and c[2] for c in computed[before:])  # March scanned again
    assert calculator.company(MAR).values["mau"] == 5  # 4 + B/u2, not the remembered 4


def test_months_are_aggregated_in_passes_of_at_most_pass_months(tmp_path, computed, monkeypatch):
    folder = write_company(tmp_path / "co")
    one_pass = _events(folder).aggregates(FEB, MAR, remember=False)
    monkeypatch.setattr(DuckDBEngine, "pass_months", 1)
    two_passes = _events(folder).aggregates(FEB, MAR, remember=False)
    assert computed == [("2026-02", "2026-03", True), ("2026-02", "2026-02", True), ("2026-03", "2026-03", True)]
    for field in fields(EngagementAggregates):
        frame = getattr(two_passes, field.name)
        pd.testing.assert_frame_equal(frame, getattr(one_pass, field.name))
        for column in ("month", "account_id"):  # joined into one piece, not one per pass
            assert pa.chunked_array(pa.array(frame[column].array)).num_chunks <= 1
    # by hand: February's one user (A/u1), then March's A (u1, u2) and B (u1); G is no customer but a user
    assert two_passes.account_months[["month", "account_id", "users"]].values.tolist() == [
        ["2026-02", "A", 1], ["2026-03", "A", 2], ["2026-03", "B", 1], ["2026-03", "G", 1]]


def test_only_the_embedded_engine_limits_its_passes():
    """DuckDB holds a pass's events in this process (3 months at most); PostgreSQL and Spark have their own
    memory and spill, and a Spark pass is a job with a fixed cost: they take each run of months in one pass."""
    from csreport.data.postgres import PostgresEngine
    from csreport.data.spark import SparkEngine

    assert DuckDBEngine.pass_months == 3
    assert PostgresEngine.pass_months is None and SparkEngine.pass_months is None
