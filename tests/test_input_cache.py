"""Remembered validation and content hashes (csreport.data.cache): reused only while the inputs are unchanged.

Issue 15: a month's run must not rescan every event ever recorded, but validation is never skipped when an
input changed. These tests count the whole-table scans and change files in the ways that could fool a cache
(same size, modification time set back, a Parquet file rewritten in place).
"""
from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import write_company

from csreport.config import Config
from csreport.data import cache as cache_module
from csreport.data import load_dataset
from csreport.data.validate import InvalidDataError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A cache of this test's own, and no "racy" window: the files written a moment ago may be remembered."""
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 0.0)


def _load(folder):
    return load_dataset(folder, Config(), quiet=True)


def test_an_unchanged_events_file_is_not_scanned_again(tmp_path):
    folder = write_company(tmp_path / "co")
    first = _load(folder)
    assert first.events is not None and first.events.validation_scans == 3  # the first run scans every event
    second = _load(folder)
    assert second.events is not None and second.events.validation_scans == 0  # remembered
    assert (second.events.rows, second.events.notes) == (first.events.rows, first.events.notes)
    assert second.fingerprint == first.fingerprint


def test_a_changed_events_file_is_validated_again_and_its_bad_row_reported(tmp_path):
    folder = write_company(tmp_path / "co")
    _load(folder)
    with open(folder / "events.csv", "a", encoding="utf-8") as out:
        out.write("A,,login,2026-03-02T10:00:00Z\n")  # a bad row: empty user_id
    with pytest.raises(InvalidDataError, match="user_id"):
        _load(folder)


def test_same_size_and_modification_time_still_count_as_a_change(tmp_path):
    """A tool that rewrites a file byte for byte in length and restores its mtime (cp -p, rsync -t) cannot hide
    the change: the status-change time (ctime) moves on every write and cannot be set back."""
    folder = write_company(tmp_path / "co")
    events = folder / "events.csv"
    _load(folder)
    before = events.stat()
    text = events.read_text(encoding="utf-8")
    bad = text.replace("A,u1,login,2026-03-01T00:00:00Z", "A,u1,login,2026-13-01T00:00:00Z", 1)
    assert bad != text and len(bad) == len(text)
    events.write_text(bad, encoding="utf-8")
    os.utime(events, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert events.stat().st_size == before.st_size and events.stat().st_mtime_ns == before.st_mtime_ns
    with pytest.raises(InvalidDataError, match="occurred_at"):
        _load(folder)


def test_a_rewritten_parquet_file_is_validated_again(tmp_path):
    folder = write_company(tmp_path / "co")
    events = pd.read_csv(folder / "events.csv", dtype=str)
    (folder / "events.csv").unlink()
    events.to_parquet(folder / "events.parquet", index=False)
    assert _load(folder).events.validation_scans == 3
    assert _load(folder).events.validation_scans == 0
    events.loc[0, "event"] = ""  # a bad row: empty event
    events.to_parquet(folder / "events.parquet", index=False)
    with pytest.raises(InvalidDataError, match="event"):
        _load(folder)


def test_bad_rows_are_never_remembered_as_clean(tmp_path):
    bad = [("A", "u1", "login", "2026-03-01T00:00:00Z"), ("A", "", "login", "2026-03-02T00:00:00Z")]
    folder = write_company(tmp_path / "co", events=bad)
    for _ in range(2):
        with pytest.raises(InvalidDataError, match="user_id"):
            _load(folder)
    quarantined = load_dataset(folder, Config(), on_invalid="quarantine", rejects_dir=tmp_path / "rejects",
                               quiet=True)
    assert quarantined.events is not None and quarantined.events.rejected == 1
    assert quarantined.events.validation_scans == 3  # scanned again, rejects written again
    assert (tmp_path / "rejects" / "events.csv").exists()


def test_the_account_checks_use_the_accounts_table_of_this_run(tmp_path):
    """The remembered scans hold each account_id's count; whether an id is known is decided on every run."""
    folder = write_company(tmp_path / "co")
    _load(folder)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str)
    accounts[accounts["account_id"] != "A"].to_csv(folder / "accounts.csv", index=False)  # A's events now unknown
    with pytest.raises(InvalidDataError, match="unknown account_id"):
        _load(folder)


def test_a_broken_or_unwritable_cache_is_a_miss_not_an_error(tmp_path, monkeypatch):
    folder = write_company(tmp_path / "co")
    _load(folder)
    for entry in (tmp_path / "cache").rglob("*.json"):
        entry.write_text("{not json", encoding="utf-8")
    assert _load(folder).events.validation_scans == 3
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, str(folder / "accounts.csv" / "below"))  # cannot be a folder
    assert _load(folder).events.validation_scans == 3
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, "off")
    assert _load(folder).events.validation_scans == 3
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_files_changed_a_moment_ago_are_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 3600.0)
    folder = write_company(tmp_path / "co")
    _load(folder)
    assert _load(folder).events.validation_scans == 3


def test_a_backfill_calculator_gives_each_month_what_a_single_month_run_gives(tmp_path):
    """The Calculator fetches full months and backtest-only months separately (issue 15); a month that is both
    (January is April's backtest month) keeps its sessions, and every value matches a one-period Calculator."""
    from conftest import EVENTS

    from csreport.model import Calculator
    from csreport.periods import Period

    january = [("A", "u1", "login", "2026-01-05T10:00:00Z"), ("A", "u1", "search", "2026-01-05T10:10:00Z"),
               ("B", "u3", "login", "2026-01-20T08:00:00Z")]
    folder = write_company(tmp_path / "co", events=[*EVENTS, *january])
    dataset, config = _load(folder), Config()
    periods = Period.parse("2026-01").range_to(Period.parse("2026-04"))
    together = Calculator(dataset, config, periods)
    for period in periods:
        alone = Calculator(dataset, config, [period])
        assert together.company(period).values == alone.company(period).values, period
        assert together.segments(period).keys() == alone.segments(period).keys()
        for name, metrics in together.segments(period).items():
            assert metrics.values == alone.segments(period)[name].values, (period, name)
    assert together.company(Period.parse("2026-01")).values["sessions"] == 2


def test_stored_frames_come_back_exactly_with_their_column_types(tmp_path):
    """The frame store keeps what Parquet alone would lose: object text with None (not NaN), nullable
    integers and booleans, time zones, and an empty frame's columns."""
    from csreport.data.cache import ResultCache

    frames = {
        "mixed": pd.DataFrame({
            "text": pd.Series(["a", None, "=1+2", ""], dtype=object),
            "score": pd.Series([1, None, 10, 0], dtype="Int64"),
            "flag": pd.Series([True, None, False, True], dtype="boolean"),
            "at": pd.to_datetime(["2026-01-01T00:00:00Z", None, "2026-03-31T23:59:59.500Z", "1999-12-31T00:00:00.000Z"],
                                format="ISO8601"),
            "day": pd.Series(pd.to_datetime(["2026-01-01", None, "2026-03-31", "2000-01-01"])).astype("datetime64[us]"),
            "mrr": [1.5, float("nan"), 0.0, -2.25],
        }),
        "empty": pd.DataFrame({"account_id": pd.Series([], dtype=object), "n": pd.Series([], dtype="int64")}),
    }
    store = ResultCache(tmp_path / "cache")
    store.put_frames("test", "key", frames)
    back = store.get_frames("test", "key")
    assert back is not None and list(back) == ["mixed", "empty"]
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(back[name], frame)
    assert back["mixed"]["text"].tolist() == ["a", None, "=1+2", ""]  # None stays None
    assert store.get_frames("test", "another key") is None


def test_a_damaged_frame_entry_is_a_miss(tmp_path):
    from csreport.data.cache import ResultCache

    store = ResultCache(tmp_path / "cache")
    store.put_frames("test", "key", {"f": pd.DataFrame({"n": [1, 2]})})
    (entry,) = (tmp_path / "cache" / "test").iterdir()
    (entry / "0.parquet").write_bytes(b"not parquet")
    assert store.get_frames("test", "key") is None
