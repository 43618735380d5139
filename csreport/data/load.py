"""Load and validate a whole data source into a :class:`Dataset`."""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from ..config import ENGINE_VARIABLE, Config
from ..errors import ConfigError, DataError
from ..periods import Period
from ..progress import say
from ..text import safe_cell
from .cache import ResultCache, identities
from .cache import code_token as cache_token
from .engines import Engine
from .events import EventStore
from .parse import parse_month
from .schema import FRAME_TABLES, TABLES
from .source import SourceReader, open_source
from .validate import InvalidDataError, Problem, ValidatedTable, validate_table

OnInvalid = Literal["stop", "quarantine"]


@dataclass
class TableQuality:
    """What loading one table found: rows read, rows set aside and why."""

    table: str
    location: str | None  # None: the table is not in the source
    rows: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)
    rejects_file: str | None = None


@dataclass
class Dataset:
    """The validated input of one run. Optional tables are None when the source lacks them."""

    accounts: pd.DataFrame
    revenue: pd.DataFrame
    surveys: pd.DataFrame | None
    tickets: pd.DataFrame | None
    referrals: pd.DataFrame | None
    invoices: pd.DataFrame | None
    events: EventStore | None
    timezone: str
    source: str  # the data source as shown in messages and provenance (a URL never holds a password)
    source_kind: str
    fingerprint: str
    quality: dict[str, TableQuality]
    # accounts left out of the revenue metrics because some of their revenue rows were set aside (quarantine):
    # account_id -> the first month concerned ('' = every month, when a rejected row's month is unreadable)
    revenue_excluded: dict[str, str] = field(default_factory=dict)

    def excluded_in(self, period: Period) -> list[str]:
        """The accounts whose revenue is left out of ``period``'s metrics (its months include a rejected row)."""
        month = str(period)
        return sorted(a for a, first in self.revenue_excluded.items() if first <= month)

    def segment_names(self) -> set[str]:
        """The segments of the accounts table, as the report names them."""
        return {str(s) for s in self.accounts["segment"].unique()}

    def revenue_as_of(self, period: Period) -> Dataset:
        """This dataset for the metrics of ``period``: without the revenue of accounts excluded in it.

        Period P reads the revenue months up to P (P-1 for the bridge, P-12 for TTM, every earlier
        month for new vs reactivated), so a rejected row of month m concerns every P >= m. Left in,
        the missing row would read as MRR 0 and turn the account into churn.
        """
        excluded = self.excluded_in(period)
        if not excluded:
            return self
        return replace(self, revenue=self.revenue[~self.revenue["account_id"].isin(excluded)].reset_index(drop=True))

    def subset(self, account_ids: set[str]) -> Dataset:
        """The same dataset restricted to some accounts (e.g. one segment); events stay in their engine."""
        def keep(frame: pd.DataFrame | None, column: str = "account_id") -> pd.DataFrame | None:
            return None if frame is None else frame[frame[column].isin(account_ids)].reset_index(drop=True)

        return replace(self, accounts=keep(self.accounts), revenue=keep(self.revenue), surveys=keep(self.surveys),
                       tickets=keep(self.tickets), referrals=keep(self.referrals, "referrer_account_id"),
                       invoices=keep(self.invoices))


def load_dataset(
    data_source: str | Path,
    config: Config,
    on_invalid: OnInvalid = "stop",
    rejects_dir: str | Path | None = None,
    quiet: bool = False,
) -> Dataset:
    """Read every table of ``data_source`` (``--data``: a folder, a DuckDB file or a PostgreSQL URL),
    validate it (SPEC §1) and return typed frames.

    With ``on_invalid="stop"`` any bad row raises :class:`InvalidDataError`
    naming table, column and rows. With ``"quarantine"`` bad rows are written to
    ``rejects_dir/<table>.csv``, counted in ``Dataset.quality`` and left out.
    """
    reader = open_source(data_source, config)
    quarantine = on_invalid == "quarantine"
    rejects_path = Path(rejects_dir or "csreport-rejects")
    frames: dict[str, pd.DataFrame | None] = {}
    quality: dict[str, TableQuality] = {}
    problems: list[Problem] = []
    known: dict[str, set[str]] = {}  # table -> its valid key values, for the reference checks of later tables
    keys: dict[str, str | None] = {}  # table -> the cache key its frame was validated under (see _validated)
    revenue_excluded: dict[str, str] = {}

    for name in FRAME_TABLES:
        spec = TABLES[name]
        if not reader.has(name):
            if spec.required:
                raise InvalidDataError([Problem(name, "", "required table is missing", blocking=True,
                                                detail=f"Put {name}.csv or {name}.parquet in {data_source}, "
                                                f"or name its file under 'tables:' in the config.")])
            frames[name], quality[name] = None, TableQuality(name, None)
            continue
        result, rows = _validated(reader, name, config, known, keys)
        if spec.required and not rows:
            raise InvalidDataError([Problem(name, "", "the table has no rows", blocking=True,
                                            detail=f"{reader.describe(name)} has a header but no data.")])
        if quarantine and rows and len(result.rejects) == rows:
            raise InvalidDataError([Problem(
                name, "", "every row is invalid", rows=[], blocking=True,
                detail=f"all {rows:,} rows of {reader.describe(name)} were rejected, so nothing of the table "
                "would be left; quarantine sets aside some bad rows, not a whole table:\n    "
                + "\n    ".join(p.message() for p in result.problems[:5]))])
        entry = TableQuality(name, reader.describe(name), rows=rows, rejected=len(result.rejects),
                             problems=[p.message() for p in result.problems])
        if name == "revenue" and quarantine and len(result.rejects):
            revenue_excluded = _revenue_exclusions(result, known.get("accounts", set()))
        if result.problems and quarantine:
            rejects_path.mkdir(parents=True, exist_ok=True)
            target = rejects_path / f"{name}.csv"
            result.rejects.map(safe_cell).to_csv(target, index=False)  # a spreadsheet never runs a cell
            entry.rejects_file = str(target)
            say(f"{name}: set aside {len(result.rejects)} invalid row(s) in {target}", quiet)
        problems.extend(result.problems)
        frames[name], quality[name] = result.frame.reset_index(drop=True), entry
        say(f"{name}: {rows:,} rows from {reader.describe(name)}", quiet)
        if len(spec.key) == 1:
            known[name] = set(result.frame[spec.key[0]])
        if problems and not quarantine:
            # stop at the first bad table: later tables' reference checks (account_id, ticket_id) depend on it
            raise InvalidDataError(problems)

    accounts, revenue = _required(frames, "accounts"), _required(frames, "revenue")
    events = None
    engine, where = events_engine(reader, config)
    if engine is not None:
        say(f"events: validating {where} in {engine.name} ...", quiet)
        events = EventStore(engine, config, accounts["account_id"], where)
        events_rejects = rejects_path / "events.csv" if quarantine else None
        events.validate(events_rejects)
        if events.rows and events.rejected == events.rows:
            raise InvalidDataError([Problem(
                "events", "", "every row is invalid", blocking=True,
                detail=f"all {events.rows:,} events of {where} were rejected: "
                + "; ".join(p.message() for p in events.problems[:5]))])
        quality["events"] = TableQuality("events", where, rows=events.rows, rejected=events.rejected,
                                         problems=[p.message() for p in events.problems] + events.notes,
                                         rejects_file=str(events_rejects) if events.rejected else None)
        say(f"events: {events.rows:,} rows from {where} (kept in {engine.name})", quiet)
        for note in events.notes:
            say(f"events: {note}", quiet)
    else:
        quality["events"] = TableQuality("events", None)

    # files are hashed whole; events that live in a database or a Spark catalog add their validation counts
    summary = f"events:{events.rows}:{events.rejected}" if events is not None else ""
    return Dataset(
        accounts=accounts, revenue=revenue, surveys=frames["surveys"],
        tickets=frames["tickets"], referrals=frames["referrals"], invoices=frames["invoices"],
        events=events, timezone=config.timezone, source=reader.display, source_kind=reader.kind,
        fingerprint=reader.fingerprint(summary), quality=quality, revenue_excluded=revenue_excluded,
    )


# the modules whose code decides what a table's validated frame is (reading, parsing, checking, storing it)
_TABLE_CODE = ("parse", "validate", "source", "schema", "load", "queries", "cache")


@functools.cache
def code_token() -> str:
    """The code that reads and validates the small tables (:func:`csreport.data.cache.code_token`)."""
    return cache_token([Path(__file__).with_name(f"{module}.py") for module in _TABLE_CODE])


def _validated(reader: SourceReader, name: str, config: Config, known: dict[str, set[str]],
               keys: dict[str, str | None]) -> tuple[ValidatedTable, int]:
    """Table ``name`` read and validated, and its number of rows; remembered while its inputs are unchanged.

    A small table costs a run its whole reading and validation although it rarely changes, so a clean
    result (no problem, no reject) is stored in the cache (:mod:`csreport.data.cache`) under a key that
    names everything the frame depends on: the table's file identities, where it is read from, the
    config settings read_raw and validate_table read (time zone, column mapping, table name), the code
    (:func:`code_token`), and the keys of the tables its reference checks use (accounts, tickets), so a
    changed accounts file makes revenue a miss too. ``keys`` collects each table's key for that chain.
    No key, no cache: a source without files (PostgreSQL), a file changed a moment ago, or a referenced
    table without a key. A table with bad rows is never stored, so its rows are looked at on every run.
    """
    spec = TABLES[name]
    mapping = reader.mapping(name)
    try:
        files = reader.input_files(name)
    except (DataError, OSError):  # not remembered; read_raw says what is wrong, as it does without a cache
        files = []
    before = identities(files) if files else None
    referenced = {table: keys.get(table) for table in sorted(set(spec.references.values())) if table in known}
    key = None
    if before is not None and None not in referenced.values() and code_token():
        settings = {"timezone": config.timezone, "columns": mapping, "table": config.tables.get(name)}
        key = "\n".join([f"{name} validated", reader.kind, reader.describe(name), *before,
                         json.dumps(settings, sort_keys=True), *(f"{t} key: {k}" for t, k in referenced.items()),
                         code_token()])
    cache = ResultCache()
    stored = cache.get_frames("tables", key) if key is not None else None
    if stored is not None and "frame" in stored:
        keys[name] = key
        frame = stored["frame"]
        frame.index = pd.RangeIndex(1, len(frame) + 1)  # a clean table keeps every row, numbered from 1
        return ValidatedTable(frame, pd.DataFrame(), []), len(frame)
    raw = reader.read_raw(name)
    result = validate_table(spec, raw, config.timezone, known, mapping)
    if key is not None and identities(files) != before:  # a file changed while it was read: not remembered
        key = None
    keys[name] = key
    if key is not None and not result.problems and result.rejects.empty:
        cache.put_frames("tables", key, {"frame": result.frame})
    return result, len(raw)


def _revenue_exclusions(result: ValidatedTable, accounts: set[str]) -> dict[str, str]:
    """Accounts with rejected revenue rows -> the first month concerned ('' for every month).

    A rejected row of an unknown account concerns no customer of the report. A rejected row without
    an account_id could belong to any account, so it cannot be set aside safely: the run stops.
    """
    rejects = result.rejects
    ids = rejects["account_id"].astype("string")  # a required column: validation stopped earlier without it
    nameless = (ids.isna() | (ids.str.strip() == "")).fillna(True).astype(bool)
    if nameless.any():
        rows = [int(r) for r in rejects["_row"][nameless]]
        raise InvalidDataError([Problem(
            "revenue", "account_id", "rejected revenue rows without an account_id", rows=rows, blocking=True,
            detail="a revenue row that names no account cannot be set aside: the account it belongs to would "
            "silently lose that month's MRR (and look churned). Fill in the account_id.")])
    months, _ = parse_month(rejects["month"])
    excluded: dict[str, str] = {}
    for account, month in zip(ids.astype(str), months, strict=True):
        if account not in accounts:
            continue
        first = "" if pd.isna(month) else str(month)
        excluded[account] = min(excluded.get(account, first), first)
    return dict(sorted(excluded.items()))


def _required(frames: dict[str, pd.DataFrame | None], name: str) -> pd.DataFrame:
    """A required table's frame; the loop above has already stopped the run when the source lacks it."""
    frame = frames.get(name)
    if frame is None:
        raise InvalidDataError([Problem(name, "", "required table is missing", blocking=True)])
    return frame


def engine_name(config: Config) -> str:
    """The events engine asked for: --engine (through CSREPORT_ENGINE), else the config's ``engine``."""
    chosen = os.environ.get(ENGINE_VARIABLE) or config.engine
    if chosen not in ("duckdb", "spark"):
        raise ConfigError(f"{ENGINE_VARIABLE}={chosen!r}: the engine is duckdb or spark")
    return chosen


def events_engine(reader: SourceReader, config: Config) -> tuple[Engine | None, str]:
    """The engine that aggregates the events, and where they come from; (None, "") without events.

    Spark reads the events itself (Parquet or a catalog table); otherwise the source's own
    engine does: DuckDB for files and DuckDB databases, PostgreSQL for a PostgreSQL URL.
    """
    if engine_name(config) == "spark":
        from .spark import SparkEngine

        named = config.spark.events_table or config.spark.events_path or reader.events_path()
        if not named and not reader.has("events"):
            return None, ""
        engine = SparkEngine(config, reader.events_path())
        return engine, engine.where
    if not reader.has("events"):
        return None, ""
    return reader.events_engine(), reader.describe("events")
