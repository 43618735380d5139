"""Remembered validation and content hashes (csreport.data.cache): reused only while the inputs are unchanged.

Issue 15: a month's run must not rescan every event ever recorded, but validation is never skipped when an
input changed. These tests count the whole-table scans and change files in the ways that could fool a cache
(same size, modification time set back, a Parquet file rewritten in place).
"""
from __future__ import annotations

import os

import pandas as pd
import pytest
from conftest import EVENTS, write_company

from csreport.config import Config
from csreport.data import cache as cache_module
from csreport.data import load_dataset
from csreport.data.schema import FRAME_TABLES
from csreport.data.validate import InvalidDataError


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """A cache of this test's own, and no "racy" window: the files written a moment ago may be remembered."""
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, str(tmp_path / "cache"))
    monkeypatch.setattr(cache_module, "RACY_SECONDS", 0.0)


def _load(folder):
    return load_dataset(folder, Config(), quiet=True)


def _edit_keeping_size_and_mtime(path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` (same length) in place and set the modification time back, as cp -p does."""
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    edited = text.replace(old, new, 1)
    assert edited != text and len(edited) == len(text)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


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
    _load(folder)
    _edit_keeping_size_and_mtime(folder / "events.csv", "A,u1,login,2026-03-01T00:00:00Z",
                                 "A,u1,login,2026-13-01T00:00:00Z")
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


@pytest.mark.parametrize("broken", [False, True])
def test_the_backtest_scores_month_l_over_period_ps_revenue_rows(tmp_path, broken):
    """A backfill takes L's health table from L's own metrics only when P reads the same revenue rows: with
    A's March row rejected, A is left out of March on (SPEC: a missing month is not churn), so April's
    backtest (h = 3 months: L = January) scores January without A, though January's own table has A."""
    from conftest import REVENUE

    from csreport.model import Calculator
    from csreport.periods import Period

    revenue = [r if not broken or r[:2] != ("A", "2026-03") else ("A", "2026-03", "150 USD") for r in REVENUE]
    folder = write_company(tmp_path / "co", revenue=revenue)
    dataset = load_dataset(folder, Config(), on_invalid="quarantine", rejects_dir=tmp_path / "rejects", quiet=True)
    periods = Period.parse("2026-01").range_to(Period.parse("2026-04"))
    together = Calculator(dataset, Config(), periods)
    january, april = (together.company(Period.parse(p)) for p in ("2026-01", "2026-04"))
    # January's customers by hand: A 100, B 200, C 50, F 10 (E starts in February, D in March)
    assert january.health["account_id"].tolist() == ["A", "B", "C", "F"]
    assert april.backtest["account_id"].tolist() == (["B", "C", "F"] if broken else ["A", "B", "C", "F"])
    assert "churned" not in january.health  # the backtest's column is added to a copy
    alone = Calculator(dataset, Config(), [Period.parse("2026-04")]).company(Period.parse("2026-04"))
    pd.testing.assert_frame_equal(april.backtest, alone.backtest)
    assert april.values == alone.values


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


# -- the small tables (accounts, revenue, surveys, tickets, referrals, invoices): validated frames remembered --



@pytest.fixture
def validations(monkeypatch):
    """The tables read and validated by load_dataset in this test, in order (a remembered table is neither)."""
    from csreport.data import load as load_module
    from csreport.data import source as source_module

    seen: dict[str, list[str]] = {"read": [], "validated": []}
    read_raw, validate_table = source_module.FileReader.read_raw, load_module.validate_table

    def counted_read(self, table):
        seen["read"].append(table)
        return read_raw(self, table)

    def counted_validate(spec, *args, **kwargs):
        seen["validated"].append(spec.name)
        return validate_table(spec, *args, **kwargs)

    monkeypatch.setattr(source_module.FileReader, "read_raw", counted_read)
    monkeypatch.setattr(load_module, "validate_table", counted_validate)
    return seen


def _reset(seen):
    seen["read"].clear()
    seen["validated"].clear()


def test_an_unchanged_small_table_is_not_read_or_validated_again(tmp_path, validations):
    folder = write_company(tmp_path / "co")
    _load(folder)
    assert validations["validated"] == validations["read"] == list(FRAME_TABLES)
    _reset(validations)
    _load(folder)
    assert validations == {"read": [], "validated": []}
    with open(folder / "invoices.csv", "a", encoding="utf-8") as out:  # a good row: only invoices is read again
        out.write("I9,A,2026-03-31,,10\n")
    _load(folder)
    assert validations == {"read": ["invoices"], "validated": ["invoices"]}


def test_an_appended_bad_row_in_a_remembered_table_is_reported(tmp_path):
    folder = write_company(tmp_path / "co")
    _load(folder)
    with open(folder / "revenue.csv", "a", encoding="utf-8") as out:
        out.write("F,2026-04,-5\n")
    with pytest.raises(InvalidDataError, match="negative MRR"):
        _load(folder)


def test_a_same_size_edit_with_its_mtime_set_back_is_validated_again(tmp_path):
    folder = write_company(tmp_path / "co")
    _load(folder)
    _edit_keeping_size_and_mtime(folder / "revenue.csv", "F,2026-03,10", "F,2026-03,-1")
    with pytest.raises(InvalidDataError, match="negative MRR"):
        _load(folder)


def test_a_changed_time_zone_or_column_mapping_validates_again(tmp_path, validations):
    folder = write_company(tmp_path / "co")
    first = _load(folder)
    _reset(validations)
    berlin = load_dataset(folder, Config(timezone="Europe/Berlin"), quiet=True)
    assert validations["validated"] == list(FRAME_TABLES)
    assert str(berlin.tickets["created_at"].dtype) == "datetime64[us, Europe/Berlin]"
    assert str(first.tickets["created_at"].dtype) == "datetime64[us, UTC]"
    # the segment in two columns, one with an empty cell: mapping segment to that one must find the bad row
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    accounts = accounts.rename(columns={"segment": "tier"}).assign(old_tier=accounts["segment"])
    accounts.loc[0, "old_tier"] = ""
    accounts.to_csv(folder / "accounts.csv", index=False)
    load_dataset(folder, Config(columns={"accounts": {"segment": "tier"}}), quiet=True)  # clean: remembered
    with pytest.raises(InvalidDataError, match=r"accounts\.segment: empty value"):
        load_dataset(folder, Config(columns={"accounts": {"segment": "old_tier"}}), quiet=True)


def test_a_changed_accounts_file_validates_revenue_again(tmp_path, validations):
    """revenue's account_id checks use the accounts of this run: its remembered frame is keyed by accounts'."""
    folder = write_company(tmp_path / "co")
    _load(folder)
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    accounts[accounts["account_id"] != "F"].to_csv(folder / "accounts.csv", index=False)  # F's revenue now unknown
    _reset(validations)
    with pytest.raises(InvalidDataError, match=r"revenue\.account_id: unknown account_id in 3 rows"):
        _load(folder)
    assert validations["validated"] == ["accounts", "revenue"]


def test_a_changed_tickets_file_validates_surveys_again(tmp_path):
    """surveys.ticket_id must name a ticket of this run's tickets table."""
    from conftest import with_ticket_ids

    folder = with_ticket_ids(write_company(tmp_path / "co"))
    _load(folder)
    tickets = pd.read_csv(folder / "tickets.csv", dtype=str, keep_default_na=False)
    tickets[tickets["ticket_id"] != "T4"].to_csv(folder / "tickets.csv", index=False)
    with pytest.raises(InvalidDataError, match=r"surveys\.ticket_id: unknown ticket_id"):
        _load(folder)


def test_a_table_with_bad_rows_is_never_remembered(tmp_path, validations):
    folder = write_company(tmp_path / "co")
    with open(folder / "revenue.csv", "a", encoding="utf-8") as out:
        out.write("F,2026-04,-5\n")
    for attempt in range(2):
        rejects = tmp_path / f"rejects{attempt}"
        _reset(validations)
        dataset = load_dataset(folder, Config(), on_invalid="quarantine", rejects_dir=rejects, quiet=True)
        assert dataset.quality["revenue"].rejected == 1 and (rejects / "revenue.csv").exists()
        assert "revenue" in validations["validated"]
    assert "accounts" not in validations["validated"]  # a clean table is taken from the cache in quarantine too


def _loaded(folder, **options):
    """load_dataset's result and its progress messages."""
    from csreport.progress import sent_to

    messages: list[str] = []
    with sent_to(messages.append):
        dataset = load_dataset(folder, Config(), **options)
    return dataset, messages


def _assert_same(plain, cached):
    (a, said_a), (b, said_b) = plain, cached
    for name in FRAME_TABLES:
        if getattr(a, name) is None:
            assert getattr(b, name) is None, name
        else:
            pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.quality == b.quality
    assert (a.fingerprint, a.source, a.timezone, a.revenue_excluded) == (b.fingerprint, b.source, b.timezone,
                                                                         b.revenue_excluded)
    assert said_a == said_b


def _with_and_without_cache(folder, monkeypatch, validations, **options):
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, "off")
    plain = _loaded(folder, **options)
    monkeypatch.setenv(cache_module.CACHE_VARIABLE, str(folder.parent / "cache"))
    _reset(validations)
    stored = _loaded(folder, **options)
    assert validations["validated"] == list(FRAME_TABLES)  # the first load with a cache stores them
    _reset(validations)
    cached = _loaded(folder, **options)
    assert validations == {"read": [], "validated": []}, "the second load takes every table from the cache"
    _assert_same(plain, stored)
    _assert_same(plain, cached)


@pytest.mark.parametrize("form", ["csv", "parquet"])
def test_cached_and_uncached_loads_give_the_same_dataset(tmp_path, monkeypatch, validations, form):
    from conftest import with_ticket_ids

    folder = with_ticket_ids(write_company(tmp_path / "co"))
    if form == "parquet":
        for name in FRAME_TABLES:
            frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False).replace("", None)
            (folder / f"{name}.csv").unlink()
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    _with_and_without_cache(folder, monkeypatch, validations)


def test_cached_and_uncached_loads_give_the_same_demo_dataset(tmp_path, monkeypatch, validations):
    from csreport.demo import generate_demo
    from csreport.periods import Period

    folder = tmp_path / "demo"
    generate_demo(folder, seed=3, scale=0.01, end=Period(2026, 10), accounts=150)
    _with_and_without_cache(folder, monkeypatch, validations, quiet=False)


def _events_in_parts(folder, *parts: list[tuple[str, str, str, str]]) -> None:
    """Replace the company's events file by a folder of Parquet parts, one per list of rows, all columns text."""
    (folder / "events.csv").unlink()
    (folder / "events").mkdir()
    for i, rows in enumerate(parts, start=1):
        _write_part(folder, f"part-{i}.parquet", rows)


def _write_part(folder, name: str, rows: list[tuple[str, str, str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=["account_id", "user_id", "event", "occurred_at"], dtype=str)
    frame.to_parquet(folder / "events" / name, index=False)


def test_parquet_parts_are_checked_one_by_one_so_a_new_part_is_the_only_one_scanned(tmp_path):
    """Issue 15: "cached per input file". Next month's part is scanned; the parts already seen are not."""
    folder = write_company(tmp_path / "co")
    _events_in_parts(folder, EVENTS[:4], EVENTS[4:])  # 4 + 3 rows
    first = _load(folder)
    assert first.events is not None and first.events.validation_scans == 6  # 3 queries for each of 2 parts
    assert first.events.rows == 7
    again = _load(folder)
    assert again.events is not None and again.events.validation_scans == 0 and again.events.rows == 7
    _write_part(folder, "part-3.parquet", [("B", "u2", "login", "2026-04-02T09:00:00Z")])
    added = _load(folder)
    assert added.events is not None and added.events.validation_scans == 3  # the new part alone
    assert added.events.rows == 8  # 7 + 1
    assert added.fingerprint != first.fingerprint


def test_a_bad_row_in_a_new_or_rewritten_part_is_reported_with_the_whole_tables_counts(tmp_path):
    folder = write_company(tmp_path / "co")
    _events_in_parts(folder, EVENTS[:4], EVENTS[4:])
    _load(folder)
    # two bad rows: one in a new part, one in a part rewritten in place (its size may stay the same)
    _write_part(folder, "part-3.parquet", [("B", "", "login", "2026-04-02T09:00:00Z")])
    _write_part(folder, "part-1.parquet", [("A", "", "login", "2026-03-01T00:00:00Z"), *EVENTS[1:4]])
    with pytest.raises(InvalidDataError, match="user_id") as raised:
        _load(folder)
    [problem] = raised.value.problems
    assert (problem.column, problem.rule, problem.count) == ("user_id", "empty value", 2)  # 1 + 1 across parts
    quarantined = load_dataset(folder, Config(), on_invalid="quarantine", rejects_dir=tmp_path / "rejects",
                               quiet=True)
    assert quarantined.events is not None and quarantined.events.rejected == 2
    assert quarantined.events.rows == 8  # 4 + 3 + 1 rows read, 2 of them set aside


@pytest.mark.parametrize("extra, expected", [
    # account Z is unknown: its two rows sit in different parts and add up to 2
    ([("Z", "u1", "login", "2026-03-03T00:00:00Z"), ("Z", "u2", "search", "2026-03-04T00:00:00Z")],
     [("account_id", "unknown account_id", 2)]),
    # 'Login ' in the last part reads as 'login' of the first: the names of all parts are compared
    ([("A", "u3", "search", "2026-03-03T00:00:00Z"), ("A", "u4", "Login ", "2026-03-04T00:00:00Z")],
     [("event", "near-duplicate event names", 0)]),
])
def test_parts_add_up_to_what_the_whole_table_gives(tmp_path, extra, expected):
    """The same events as one file and as three parts give the same problems: every check looks at one row,
    event names unite, and rows per account add up."""
    rows = [*EVENTS, *extra]
    whole = write_company(tmp_path / "whole", events=rows)
    parted = write_company(tmp_path / "parted", events=rows)
    _events_in_parts(parted, rows[:3], rows[3:8], rows[8:])  # the two extra rows in different parts
    for folder in (whole, parted):
        with pytest.raises(InvalidDataError) as raised:
            _load(folder)
        assert sorted((p.column, p.rule, p.count) for p in raised.value.problems) == expected


def test_parts_of_different_schemas_are_checked_together(tmp_path):
    """Parts whose columns differ are only read together (DuckDB unifies them), so they are one entry."""
    folder = write_company(tmp_path / "co")
    _events_in_parts(folder, EVENTS[:4])
    frame = pd.DataFrame(EVENTS[4:], columns=["account_id", "user_id", "event", "occurred_at"], dtype=str)
    frame["source"] = "mobile"  # an extra column in this part only
    frame.to_parquet(folder / "events" / "part-2.parquet", index=False)
    dataset = _load(folder)
    assert dataset.events is not None and dataset.events.validation_scans == 3 and dataset.events.rows == 7
    assert _load(folder).events.validation_scans == 0
