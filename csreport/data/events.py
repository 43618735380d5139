"""The ``events`` table, kept inside its engine (DuckDB, PostgreSQL or Spark).

Usage events can number 10^8 rows and more, so they never reach Python. This
module validates them with two scans inside the engine and hands pandas only
per-account aggregates, for months first..last (``month`` is 'YYYY-MM', local):

* ``account_days``          month, account_id, day, users    distinct active users per account and local day
* ``account_months``        month, account_id, users         distinct active users per account and month
* ``account_features``      month, account_id, event, users  distinct users per account, month and feature
* ``account_sessions``      month, account_id, duration_minutes, sessions
                            how many sessions of that exact duration started in the month (a histogram)
* ``account_session_users`` month, account_id, users         distinct users with a session of the month

"Active" users count only the events of config ``engagement.active_events``
(default: every event); features and sessions count every event. Because a
user is the pair (account_id, user_id), distinct users add up across accounts,
and the duration histograms keep medians exact for any group of accounts.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..config import Config
from ..memo import remembered
from ..periods import Period
from .cache import ResultCache, code_token, identities
from .clock import DAY_US, MINUTE_US, Scan
from .engines import Engine
from .queries import INSTANT, INVISIBLE, SPEC_COLUMNS, USER_KEY, EventsTable, literal
from .schema import TABLES
from .validate import InvalidDataError, Problem, id_form, missing_columns, unknown_detail, unmapped_columns

EXAMPLES = 5


def _empty(*columns: str) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


@dataclass
class EngagementAggregates:
    account_days: pd.DataFrame
    account_months: pd.DataFrame
    account_features: pd.DataFrame
    account_sessions: pd.DataFrame = field(
        default_factory=lambda: _empty("month", "account_id", "duration_minutes", "sessions"))
    account_session_users: pd.DataFrame = field(default_factory=lambda: _empty("month", "account_id", "users"))

    def _frames(self) -> list[pd.DataFrame]:
        return [getattr(self, f.name) for f in fields(self)]

    def subset(self, account_ids: set[str]) -> EngagementAggregates:
        return EngagementAggregates(
            *(frame[frame["account_id"].isin(account_ids)].reset_index(drop=True) for frame in self._frames()))

    def concat(self, *others: EngagementAggregates) -> EngagementAggregates:
        """These aggregates and ``others``' (of other months), frame by frame, in one copy."""
        if not others:
            return self
        return EngagementAggregates(*(
            _contiguous(pd.concat([frame for frame in group if len(frame)] or [group[0]], ignore_index=True))
            for group in zip(self._frames(), *(other._frames() for other in others), strict=True)))

    def without_months(self, months: set[str]) -> EngagementAggregates:
        """These aggregates without the rows of ``months`` ('YYYY-MM')."""
        return EngagementAggregates(
            *(frame[~frame["month"].isin(months)].reset_index(drop=True) for frame in self._frames()))

    def for_month(self, period: Period) -> EngagementAggregates:
        """The rows of one month, without the month column (empty frames for a month they do not hold).

        Every month's share is split out once per set of aggregates (:func:`_by_month`): a backfill
        reads each month many times (as P and as a backtest month, for the company and every segment).
        """
        month = str(period)
        months = remembered(self, "by_month", lambda: [_by_month(frame) for frame in self._frames()])
        return EngagementAggregates(*(
            parts[month] if month in parts else frame.iloc[:0].drop(columns="month").reset_index(drop=True)
            for frame, parts in zip(self._frames(), months, strict=True)))


def _contiguous(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text column in one piece: concatenated Arrow text stays in pieces (one per engine
    pass), and every later operation on it pays for them (the 96 metric computations of a 24-month backfill
    at scale 1 took 0.2–0.4 s less on columns in one piece)."""
    for name in frame.columns:
        values = frame[name].array
        if isinstance(values, pd.arrays.ArrowStringArray):
            pieces = pa.array(values)
            if isinstance(pieces, pa.ChunkedArray) and pieces.num_chunks > 1:
                frame[name] = pd.array(pieces.combine_chunks(), dtype=frame[name].dtype)
    return frame


def _by_month(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{month 'YYYY-MM': its rows in their order, without the month column, indexed 0 … n-1}.

    Aggregates keep each month's rows together (every pass returns them in month order, and joining,
    filtering and splitting by account keep the order), so each month is one slice, taken without a copy;
    a frame whose months are interleaved is grouped instead.
    """
    if frame.empty:
        return {}
    codes, months = pd.factorize(frame["month"])
    starts = np.flatnonzero(np.diff(codes, prepend=-1))
    if len(starts) != len(months):
        return {str(month): rows.drop(columns="month").reset_index(drop=True)
                for month, rows in frame.groupby("month", sort=False, observed=True)}
    rows = frame.drop(columns="month")
    ends = [*starts[1:], len(frame)]
    return {str(months[codes[start]]): rows.iloc[start:end].reset_index(drop=True)
            for start, end in zip(starts, ends, strict=True)}


class EventStore:
    """Validated access to the events table; only aggregates leave the engine."""

    def __init__(self, engine: Engine, config: Config, known_accounts: pd.Series, where: str):
        self.engine = engine
        self.config = config
        self.where = where  # for messages: where the events come from
        self.rows = 0
        self.rejected = 0
        self.problems: list[Problem] = []
        self.notes: list[str] = []  # data-quality remarks that are not bad rows
        self.known_accounts = set(known_accounts.astype(str))
        self.table = self._describe(config.columns.get("events", {}))
        self._cache = ResultCache()
        # validation queries the last validate() ran: 3 over the whole table, or 3 per Parquet part that was not
        # remembered (0: every result was remembered)
        self.validation_scans = 0

    def _describe(self, mapping: dict[str, str]) -> EventsTable:
        kinds = self.engine.kinds()
        problems = unmapped_columns("events", list(kinds), mapping)
        if problems:
            raise InvalidDataError(problems)
        reverse = {source: spec for spec, source in mapping.items()}
        spec_kinds = {reverse.get(name, name): kind for name, kind in kinds.items()}
        problems = missing_columns(TABLES["events"], list(spec_kinds), mapping)
        if problems:
            raise InvalidDataError(problems)
        columns = {spec: mapping.get(spec, spec) for spec in SPEC_COLUMNS}
        return EventsTable(self.engine.relation, columns, {spec: spec_kinds[spec] for spec in SPEC_COLUMNS})

    def _remembered(self, queries: list[str], files: list[Path] | None) -> tuple[list[list[tuple]], str | None]:
        """The results of ``queries``, read from the cache when ``files`` (the files whose rows they read) are
        unchanged (:mod:`csreport.data.cache`), and the key to store fresh results under if the events prove
        clean (None: read from the cache, or not to be remembered)."""
        before = identities(files) if files else None
        key = None if before is None else "\n".join([f"{self.engine.name} events validation", *before, *queries])
        if key is not None:
            known = self._cache.get("events-validation", key)
            if isinstance(known, list) and len(known) == len(queries):
                return [[tuple(r) for r in rows] for rows in known], None
        results = [self.engine.rows(sql) for sql in queries]
        self.validation_scans += len(queries)
        if files and identities(files) != before:  # a file changed while it was scanned: not remembered
            key = None
        return results, key

    def _validation_results(self, active: list[str]) -> tuple[list[list[tuple]], list[tuple[str, list]]]:
        """The three validation results over every event (see :meth:`validate`), and the (key, results) cache
        entries to store if the events prove clean.

        When the events are Parquet parts of one schema, each part is checked and remembered on its own and
        the results add up, so a part added to the folder (next month's events) is the only one scanned.
        """
        def queries(table: EventsTable) -> list[str]:
            return [table.validation_sql(active), table.events_sql(), table.per_account_sql()]

        self.validation_scans = 0
        files, parts = self.engine.input_files, self.engine.parts()
        if parts is None or files is None:
            results, key = self._remembered(queries(self.table), files)
            return results, [] if key is None else [(key, results)]
        checked = [self._remembered(queries(EventsTable(part, self.table.columns, self.table.kinds)), [file])
                   for part, file in zip(parts, files, strict=True)]
        return _added_up([results for results, _ in checked]), [
            (key, results) for results, key in checked if key is not None]

    def validate(self, quarantine_to: Path | None) -> None:
        """Check every event (three queries over the whole table, or over each of its Parquet parts). Raise on
        bad rows, or set them aside into a rejects file.

        The scans' results are remembered per events file identity when nothing was wrong, so the next
        run over the same unchanged files checks the remembered counts (against the accounts table as it
        is now) instead of scanning every event ever recorded again. A changed file is scanned again.
        """
        active = self.config.engagement.active_events or []
        checks = self.table.checks()
        (validation, event_names, per_account), entries = self._validation_results(active)
        row = validation[0]
        self.rows = int(row[0])
        # the row is: total, one count per check, one count per active event (strict: a column too few or
        # too many would pair a count with the wrong check)
        per_check, per_event = row[1:1 + len(checks)], row[1 + len(checks):]
        found = {label: int(n) for label, n in zip(checks, per_check, strict=True) if n}
        never = [e for e, n in zip(active, per_event, strict=True) if not n]
        if never:
            self.notes.append(
                f"engagement.active_events names {', '.join(repr(e) for e in never)}, which never occur(s) in the "
                f"events table ({self.rows:,} rows): check the spelling against the event names in the data. "
                "Active users, DAU, stickiness, active accounts and health usage count only the listed events.")

        # event names a reader takes for one ('login', 'Login ', 'login' with a zero-width space) would split
        # one feature into several in feature adoption: bad input, like near-duplicate ids
        # (names with an invisible character are bad rows of their own, reported and quarantinable below)
        names = [str(e) for (e,) in event_names if not re.search(INVISIBLE, str(e))]
        forms: dict[str, list[str]] = {}
        for name in names:
            forms.setdefault(id_form(name), []).append(name)
        clashes = sorted(sorted(group) for group in forms.values() if len(group) > 1)
        if clashes:
            shown = "; ".join(" vs ".join(repr(n) for n in group) for group in clashes[:5])
            raise InvalidDataError([Problem(
                "events", "event", "near-duplicate event names", blocking=True,
                detail=f"{shown}: these names differ only in case, surrounding spaces or invisible characters, so "
                "they read as one feature but would count as several. Write each event name the same way.")])

        # account checks on the distinct ids only (a few thousand), not row by row
        empty = [(a, n) for a, n in per_account if a is None or a == ""]
        unknown = sorted(a for a, _ in per_account if a not in (None, "") and a not in self.known_accounts)
        if empty:
            found[("account_id", "empty value")] = sum(n for _, n in empty)
            checks[("account_id", "empty value")] = "account_id IS NULL OR account_id = ''"
        if unknown:
            found[("account_id", "unknown account_id")] = sum(n for a, n in per_account if a in set(unknown))
            checks[("account_id", "unknown account_id")] = f"account_id IN ({', '.join(map(literal, unknown))})"

        details = {("account_id", "unknown account_id"): unknown_detail("account_id", "accounts", unknown,
                                                                         self.known_accounts)}
        for (column, rule), count in found.items():
            examples = self.engine.rows(self.table.examples_sql(checks[(column, rule)], EXAMPLES))
            self.problems.append(Problem(
                "events", column, rule, rows=[], total=count,
                values=[f"account_id={a}, user_id={u}, event={e}, occurred_at={t}" for a, u, e, t in examples],
                detail=details.get((column, rule), ""),
            ))
        if not self.problems:
            for key, results in entries:  # only clean results are remembered: bad rows are looked at on every run
                self._cache.put("events-validation", key, [[list(r) for r in rows] for rows in results])
            return
        if quarantine_to is None:
            raise InvalidDataError(self.problems)
        any_bad = " OR ".join(f"({checks[label]})" for label in found)
        quarantine_to.parent.mkdir(parents=True, exist_ok=True)
        self.engine.write_csv(self.table.rejects_sql(any_bad), quarantine_to, list(SPEC_COLUMNS))
        self.rejected = sum(found.values()) if len(found) == 1 else int(
            self.engine.rows(f"SELECT count(*) FROM ({self.table.rejects_sql(any_bad)}) AS r")[0][0])
        self.table = EventsTable(self.table.relation, self.table.columns, self.table.kinds,
                                 f"coalesce({any_bad}, false)")

    def aggregates(self, first: Period, last: Period, sessions: bool = True,
                   reusable: Collection[Period] = (), remember: bool = True) -> EngagementAggregates:
        """Per-account aggregates for months first..last (see the module docstring).

        ``sessions=False`` skips the sessions query (its two frames stay empty: compute no session
        metrics from them), for callers that need only users and features, e.g. a benchmark.

        Months in ``reusable`` may be taken from the aggregates an earlier run computed over the same,
        unchanged events files (:class:`MonthMemory`); every other month is computed in the engine, in one
        pass per contiguous run of at most the engine's ``pass_months`` months. The result is the same
        either way. Every month computed is remembered, so that next month's report finds this month's
        aggregates, unless ``remember`` is False (a backfill, which reads nothing back).
        """
        months = list(first.range_to(last))
        memory = MonthMemory.of(self) if self._cache.folder is not None else None
        parts: dict[Period, EngagementAggregates] = {}
        if memory is not None:
            for month in months:
                if month in reusable and (found := memory.get(month, sessions)) is not None:
                    parts[month] = found
        for run_first, run_last in runs([m for m in months if m not in parts], longest=self.engine.pass_months):
            computed = self._computed(run_first, run_last, sessions)
            parts[run_first] = computed
            if memory is not None and remember:
                memory.put(computed, list(run_first.range_to(run_last)), sessions)
        first_part, *later = [parts[m] for m in sorted(parts)]  # month order, as one pass over first..last returns them
        return first_part.concat(*later)

    def _computed(self, first: Period, last: Period, sessions: bool) -> EngagementAggregates:
        """The aggregates of months first..last, computed in the engine in one pass."""
        tz, active = self.config.timezone, self.config.engagement.active_events
        gap_us = round(self.config.session_gap_minutes * MINUTE_US)
        scan = Scan.of(first, last, tz, lead_us=gap_us)
        months = pd.Series([str(p) for p in scan.months])
        labels = pa.array(months.tolist())
        # days, months and features: one scan of the months (grouping sets), split here by which key is set
        activity = self.engine.frame(self.table.account_activity_sql(scan, active),
                                     ["month", "account_id", "day", "event", "all_users", "users"])
        by_day, by_event = activity["day"].notna(), activity["event"].notna()
        active_rows = activity["users"].astype("int64") > 0
        days = activity.loc[by_day & active_rows, ["month", "account_id", "day", "users"]]
        # day_index counts local days from the first day of the scan
        days["day"] = (pd.Timestamp(first.start_date) + pd.to_timedelta(days["day"].astype("int64"), unit="D")).astype(
            "datetime64[us]")
        monthly = activity.loc[~by_day & ~by_event & active_rows, ["month", "account_id", "users"]]
        features = activity.loc[by_event, ["month", "account_id", "event", "all_users"]].rename(
            columns={"all_users": "users"})
        features["event"] = features["event"].astype(str)
        columns = ["kind", "month", "account_id", "duration_us", "n"]
        found = (self.engine.frame(self.table.sessions_sql(scan, gap_us, self._user_key(scan, gap_us)), columns)
                 if sessions else pd.DataFrame({c: pd.Series(dtype="int64" if c != "account_id" else object)
                                                for c in columns}))
        histogram = found[found["kind"] == 0]
        per_account = pd.DataFrame({
            "month": histogram["month"], "account_id": histogram["account_id"],
            "duration_minutes": histogram["duration_us"].astype("int64") / MINUTE_US,
            "sessions": histogram["n"].astype("int64")})
        session_users = found.loc[found["kind"] == 1, ["month", "account_id", "n"]].rename(columns={"n": "users"})
        frames = [days, monthly, features, per_account, session_users]
        for frame in frames:
            # month index -> 'YYYY-MM' label, taken in Arrow (a million Python strings would cost seconds)
            taken = labels.take(pa.array(frame["month"].to_numpy(dtype="int64", na_value=-1)))
            frame["month"] = pd.array(taken, dtype=months.dtype)
            frame["account_id"] = frame["account_id"].astype(str)
            count = "sessions" if "sessions" in frame else "users"
            frame[count] = frame[count].astype("int64")
        keys = [["month", "account_id", "day"], ["month", "account_id"], ["month", "account_id", "event"],
                ["month", "account_id", "duration_minutes"], ["month", "account_id"]]
        return EngagementAggregates(*(in_key_order(f, k) for f, k in zip(frames, keys, strict=True)))

    def _user_key(self, scan: Scan, gap_us: int) -> str:
        """What the sessions query partitions users by: the engine's hash of (account_id, user_id) when no
        two users of this scan share one (checked here, in ~a tenth of the sessions query's time), else
        the two columns. The sessions are the same either way; only the sort is cheaper."""
        hashed = self.engine.user_key_hash
        if hashed is None or self.engine.rows(self.table.user_key_collisions_sql(scan, gap_us, hashed)):
            return USER_KEY
        return hashed


def in_key_order(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` in the order of ``keys``, indexed 0 … n-1: ``frame.sort_values(keys, kind="stable")``'s rows.

    Rows that already come in that order (both queries sort them in the engine) are only checked, one
    comparison of neighbouring rows per key, and not moved; others are sorted on each key's ranks (integers)
    rather than on its texts: moving a million text cells cost more than finding their order.
    """
    if _in_order(frame, keys):
        return frame.reset_index(drop=True)
    order = np.lexsort([_ranks(frame[key]) for key in reversed(keys)])
    return frame.take(order).reset_index(drop=True)


def _in_order(frame: pd.DataFrame, keys: list[str]) -> bool:
    """Whether every row's keys come at or after the previous row's, key by key: a stable sort would leave
    every row where it is (rows tied on every key keep their order). False when a key has missing values:
    the sort decides where they go."""
    tied = np.ones(max(len(frame) - 1, 0), dtype=bool)  # row i+1 equals row i on every key so far
    for key in keys:
        if not tied.any():
            break
        column = frame[key]
        if column.hasnans:
            return False
        before, same = _steps(column)
        if (tied & before).any():
            return False
        tied &= same
    return True


def _steps(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """For each pair of neighbouring rows (no missing values): (row i+1 < row i, row i+1 == row i). Arrow
    texts are compared in Arrow, by code point as pandas sorts them."""
    if isinstance(column.array, pd.arrays.ArrowStringArray):
        values = pa.array(column.array)
        later, earlier = values[1:], values[:-1]
        return (pc.less(later, earlier).to_numpy(zero_copy_only=False),
                pc.equal(later, earlier).to_numpy(zero_copy_only=False))
    values = column.to_numpy()
    return values[1:] < values[:-1], values[1:] == values[:-1]


def _ranks(column: pd.Series) -> np.ndarray:
    """Integers in the order of ``column``'s values, missing values last (as sort_values puts them)."""
    if pd.api.types.is_numeric_dtype(column) and not column.hasnans:
        return column.to_numpy()
    codes, uniques = pd.factorize(column, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def _added_up(parts: list[list[list[tuple]]]) -> list[list[tuple]]:
    """The validation results of the whole table from its parts': every count adds up (each check looks at
    one row), event names unite, and the rows per account add up."""
    first_rows = [validation[0] for validation, _, _ in parts]
    counts = tuple(sum(int(n or 0) for n in column) for column in zip(*first_rows, strict=True))
    names = list(dict.fromkeys(name for _, events, _ in parts for name in events))
    per_account: dict[object, int] = {}
    for _, _, rows in parts:
        for account, n in rows:
            per_account[account] = per_account.get(account, 0) + int(n)
    return [[counts], names, list(per_account.items())]


def runs(months: list[Period], longest: int | None = None) -> list[tuple[Period, Period]]:
    """Sorted months as contiguous runs (first, last) of at most ``longest`` months each (None: any length)."""
    found: list[list[Period]] = []
    for month in months:
        if found and month == found[-1][1].shift(1) and (longest is None or found[-1][0].shift(longest) > month):
            found[-1][1] = month
        else:
            found.append([month, month])
    return [(first, last) for first, last in found]


@cache
def _code_token() -> str:
    """The code that turns events into aggregates (:func:`csreport.data.cache.code_token`): a remembered month
    is never served to other code."""
    here = Path(__file__)
    return code_token([here, *(here.with_name(f"{m}.py") for m in ("clock", "dialect", "engines", "queries"))])


class MonthMemory:
    """One month's aggregates, remembered per events file identity (:mod:`csreport.data.cache`).

    A month's aggregates are a pure function of the events files' bytes, the month's SQL (which spells
    out the time zone, the session gap, the active events and any quarantine filter) and this code.
    The key holds all three, so a changed file, setting or code is computed afresh. When the events are
    Parquet parts whose footers give the time span of their rows, the key holds only the parts whose span
    meets the month's scan: a part added for next month leaves this month's key as it was. A month computed
    while a file changed is not remembered; nor are months of events only an engine can see (PostgreSQL,
    Spark catalog tables). The report's own month is always computed (and remembered, for next month's
    report): callers pass the months that may be read back (comparisons, trends, the health backtest, an
    account's history).
    """

    KIND = "event-months"

    def __init__(self, store: EventStore, files: list[str], spans: list[tuple[int, int] | None] | None = None):
        self.store = store
        self.files = files  # the identities of every events file
        self.spans = spans  # per file, the first and last time of its rows (None: unknown, so any month)

    @classmethod
    def of(cls, store: EventStore) -> MonthMemory | None:
        files = store.engine.input_files
        known = identities(files) if files and _code_token() else None
        if known is None:
            return None
        return cls(store, known, store.engine.time_spans(store.table.columns["occurred_at"]))

    def _files_for(self, scan: Scan, lead_us: int) -> list[str]:
        """The identities of the files whose rows can fall in the scan (lo − lead to hi): every file, unless
        its footer's statistics place it wholly outside. A column without time zone holds wall-clock
        times (a date: a whole day), so its spans are widened by two days, more than a day plus any
        zone's offset; an instant column's are exact."""
        if self.spans is None:
            return self.files
        margin = 0 if self.store.table.kinds["occurred_at"] == INSTANT else 2 * DAY_US
        lo, hi = scan.lo_us - lead_us - margin, scan.hi_us + margin
        return [identity for identity, span in zip(self.files, self.spans, strict=True)
                if span is None or (span[1] >= lo and span[0] < hi)]

    def _key(self, month: Period, sessions: bool) -> str:
        config, table = self.store.config, self.store.table
        gap_us = round(config.session_gap_minutes * MINUTE_US)
        scan = Scan.of(month, month, config.timezone, lead_us=gap_us)
        sql = [table.account_activity_sql(scan, config.engagement.active_events)]
        if sessions:
            sql.append(table.sessions_sql(scan, gap_us))
        return "\n".join([f"{self.store.engine.name} month aggregates", _code_token(),
                          *self._files_for(scan, gap_us), *sql])

    def get(self, month: Period, sessions: bool) -> EngagementAggregates | None:
        """The month's aggregates (with sessions if asked; a month remembered in full serves both), or None."""
        for full in (True,) if sessions else (True, False):
            frames = self.store._cache.get_frames(self.KIND, self._key(month, full))
            if frames is not None and list(frames) == [f.name for f in fields(EngagementAggregates)]:
                return EngagementAggregates(**frames)
        return None

    def put(self, computed: EngagementAggregates, months: list[Period], sessions: bool) -> None:
        """Remember these months of ``computed``, unless a file changed since the identities were taken."""
        if not months or identities(self.store.engine.input_files or []) != self.files:
            return
        for month in months:
            label = str(month)
            frames = {f.name: _month_rows(getattr(computed, f.name), label) for f in fields(EngagementAggregates)}
            self.store._cache.put_frames(self.KIND, self._key(month, sessions), frames)


def _month_rows(frame: pd.DataFrame, month: str) -> pd.DataFrame:
    return frame[frame["month"] == month].reset_index(drop=True)
