"""Where the events are aggregated: the engines behind one small interface.

An :class:`Engine` runs the DuckDB-dialect SQL of :mod:`csreport.data.queries`
(transpiled for itself) against its ``relation`` — the events table as that
engine names it — and returns small results. DuckDB is embedded; PostgreSQL
(:mod:`csreport.data.postgres`) and Spark (:mod:`csreport.data.spark`) import
their client libraries only when used. Every engine's session is pinned to UTC:
the queries compute with epoch microseconds and never rely on a session zone.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa

from ..errors import DataError
from ..text import safe_cell
from .dialect import transpile
from .queries import INSTANT, OTHER, TEXT, WALL, ident, literal


class Engine:
    """Runs event queries inside one engine. Subclasses implement ``_rows``, ``_frame`` and ``kinds``."""

    name = "engine"
    relation = ""  # the events table, quoted as in the DuckDB dialect
    # the files whose bytes decide the events' rows, when the engine reads files it was given (validation
    # results are remembered by their identity, csreport.data.cache); None: a table only the engine can see
    input_files: list[Path] | None = None
    # a cheap key that is usually one-to-one with a user (account_id, user_id), to partition the sessions
    # query by (csreport.data.queries.EventsTable.sessions_sql); None: partition by the two columns
    user_key_hash: str | None = None
    # months aggregated in one pass at most (None: any number, one pass per contiguous run of months)
    pass_months: int | None = None

    def kinds(self) -> dict[str, str]:
        """Source column name -> TEXT, INSTANT, WALL or OTHER, in the table's order."""
        raise NotImplementedError

    def parts(self) -> list[str] | None:
        """One relation per file of ``input_files`` whose rows, read alone, are that file's rows of the events
        table; None when the table is only read whole."""
        return None

    def time_spans(self, column: str) -> list[tuple[int, int] | None] | None:
        """Per part of :meth:`parts`, the first and last time of its rows in ``column`` (epoch µs), or None
        per part or for all when they are not known without reading the rows."""
        return None

    def rows(self, sql: str) -> list[tuple]:
        return self._rows(transpile(sql, self.name))

    def frame(self, sql: str, columns: list[str]) -> pd.DataFrame:
        """The result of ``sql`` as a DataFrame with these column names (a small, aggregated result)."""
        frame = self._frame(transpile(sql, self.name))
        frame.columns = columns
        return frame

    def write_csv(self, sql: str, path: Path, header: list[str]) -> None:
        """Stream the rows of ``sql`` into a CSV file (the quarantined events)."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(header)
            out.writerows([safe_cell(v) for v in row] for row in self._stream(transpile(sql, self.name)))

    def _rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def _frame(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    def _stream(self, sql: str):
        return self._rows(sql)


DUCKDB_KINDS = {"TIMESTAMP WITH TIME ZONE": INSTANT, "VARCHAR": TEXT, "DATE": WALL}


# nanosecond timestamps (pandas before 3.0 writes them to Parquet) -> the microsecond types every query uses
_NANOSECOND_TYPES = {"TIMESTAMPTZ_NS": "make_timestamptz", "TIMESTAMP_NS": "make_timestamp"}


def _in_microseconds(described: list[tuple]) -> str:
    """SQL: `` REPLACE (...)`` turning each nanosecond timestamp column into microseconds, rounded down, as
    DuckDB's own casts round to the nearest (an event at 23:59:59.9999996 on a month's last day would move to
    the next month); "" when there is none."""
    replaced = []
    for name, kind, *_ in described:
        make = _NANOSECOND_TYPES.get(str(kind).upper())
        if make is not None:
            ns = f"epoch_ns({ident(name)})"
            # DuckDB's // truncates toward zero; subtracting the non-negative remainder first floors it exactly
            replaced.append(f"{make}(({ns} - (({ns} % 1000) + 1000) % 1000) // 1000) AS {ident(name)}")
    return f" REPLACE ({', '.join(replaced)})" if replaced else ""


def int96_as_instants(connection, reader: str, files: str) -> str:
    """SQL (a FROM item): ``reader`` over the Parquet ``files``, each INT96 timestamp column read as an instant.

    INT96 timestamps (what Spark, Hive and Impala write by default) hold UTC instants, and Spark reads them so;
    DuckDB gives them as timestamps without time zone, which csreport reads as wall-clock time of the configured
    zone. Outside UTC every event would move by the zone's offset.
    """
    import duckdb

    try:
        found = connection.execute(f"SELECT DISTINCT name FROM parquet_schema({files}) WHERE type = 'INT96' "
                                   "ORDER BY name").fetchall()
    except duckdb.Error:  # not Parquet, unreadable: reading ``reader`` says so, as bad input
        return reader
    if not found:
        return reader
    replaced = ", ".join(f"make_timestamptz(epoch_us({ident(name)})) AS {ident(name)}" for (name,) in found)
    return f"(SELECT * REPLACE ({replaced}) FROM {reader})"


def _nullable_integers(arrow_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    """Arrow integers become pandas' Int64 (NULL stays NULL, no float on the way); other types their default."""
    return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None


def csv_safe_sql(column: str) -> str:
    """SQL (DuckDB) of :func:`csreport.text.safe_cell` for one text column."""
    starts = ", ".join(["'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)"])
    number = "'[+-]?[0-9]+([.][0-9]+)?'"
    return (f"CASE WHEN left({column}, 1) IN ({starts}) AND NOT regexp_full_match({column}, {number}) "
            f"THEN chr(39) || {column} ELSE {column} END")


class DuckDBEngine(Engine):
    """The embedded default: DuckDB over files or a DuckDB database (the Source's connection)."""

    name = "duckdb"
    relation = ident("csreport_events_source")
    # 64 bits: the sessions window sorts them faster than two texts (one month at scale 20, best of 5:
    # 0.76 s with the collision check, against 0.92 s; BENCHMARKS.md)
    user_key_hash = "hash(account_id, user_id)"
    # embedded: a pass holds all its months' events in this process's memory. The 27 months of a 24-month
    # backfill at scale 20 (10^8 events): 7,096 MB peak RSS in one pass; the aggregates alone 26 s and
    # 1,380 MB in passes of 3 months (687 MB in 1-month passes, no faster). At scale 1, 3-month passes were
    # faster than 1-month ones (3.6 s against 4.5 s: each pass has a fixed cost) and than one pass (4.7 s).
    # Engines with their own memory and spilling (PostgreSQL, Spark) take any number: on Spark each pass is a
    # job, and a 24-month backfill at scale 1 took 72–73 s in 3-month passes against 62 s in one. BENCHMARKS.md.
    pass_months = 3

    def __init__(self, connection, relation_sql: str, where: str = "the events table",
                 input_files: list[Path] | None = None, part_paths: list[str] | None = None,
                 unreadable: Callable[[str], DataError | None] | None = None):
        self.con = connection
        self.where = where
        # what is wrong with the file, from DuckDB's message (a CSV file: which line, how to fix it), if known
        self._unreadable = unreadable
        self.input_files = input_files
        # the SQL string literal of each file of input_files, when the events are a folder of Parquet parts
        self._part_paths = part_paths
        self._uniform: bool | None = None  # whether every part has the whole table's columns and types
        self._spans: dict[str, list[tuple[int, int] | None] | None] = {}  # time_spans per column
        described = self._run(f"DESCRIBE SELECT * FROM {relation_sql}").fetchall()
        self._run(f"CREATE OR REPLACE TEMP VIEW {self.relation} AS SELECT *{_in_microseconds(described)} "
                  f"FROM {relation_sql}")

    def parts(self) -> list[str] | None:
        """One relation per events file (in ``input_files`` order) whose rows, read alone, are exactly that
        file's rows of the whole table: when the events are several Parquet parts that each have the whole
        table's columns and types. None otherwise (one file; parts whose schemas differ are only read
        together, where DuckDB unifies their columns)."""
        paths = self._part_paths
        if not paths or len(paths) < 2:
            return None
        relations = [f"read_parquet([{path}])" for path in paths]
        if self._uniform is None:
            whole = self._run(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
            self._uniform = all(self._run(f"DESCRIBE SELECT * FROM {r}").fetchall() == whole for r in relations)
        return relations if self._uniform else None

    def time_spans(self, column: str) -> list[tuple[int, int] | None] | None:
        """For each part of :meth:`parts`, the first and last value of the timestamp ``column`` in epoch
        microseconds (as UTC wall-clock time for a column without time zone), from the Parquet footer's
        statistics; None for a part whose row groups do not all have them. None when the events are not
        such parts or the column is not a timestamp or date."""
        if column not in self._spans:
            self._spans[column] = self._time_spans(column)
        return self._spans[column]

    def _time_spans(self, column: str) -> list[tuple[int, int] | None] | None:
        if self.parts() is None or not self._part_paths:
            return None
        target = {INSTANT: "TIMESTAMPTZ", WALL: "TIMESTAMP"}.get(self.kinds().get(column, OTHER))
        if target is None:
            return None
        spans: list[tuple[int, int] | None] = []
        for path in self._part_paths:
            # every row fetched (fetchall, not fetchone): an unfinished result blocks the connection's next query
            [(groups, with_stats, first, last)] = self._rows(
                f"SELECT count(*), count(stats_min_value) + count(stats_max_value), "
                f"epoch_us(min(TRY_CAST(stats_min_value AS {target}))), "
                f"epoch_us(max(TRY_CAST(stats_max_value AS {target}))) "
                f"FROM parquet_metadata([{path}]) WHERE path_in_schema = {literal(column)}")
            whole = groups > 0 and with_stats == 2 * groups and first is not None and last is not None
            spans.append((int(first), int(last)) if whole else None)
        return spans

    def _run(self, sql: str):
        """Execute ``sql``; a file DuckDB cannot read (not Parquet, truncated, a malformed CSV) is bad input."""
        with self._unreadable_is_bad_input():
            return self.con.execute(sql)

    @contextmanager
    def _unreadable_is_bad_input(self) -> Iterator[None]:
        import duckdb

        try:
            yield
        except (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException,
                duckdb.OutOfRangeException) as exc:
            explained = self._unreadable(str(exc)) if self._unreadable is not None else None
            if explained is not None:
                raise explained from None
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise DataError(f"invalid input data:\n  - events: {self.where} cannot be read: {first}. Export the "
                            "events again as Parquet or CSV (comma-separated, header account_id, user_id, event, "
                            "occurred_at).") from None

    def kinds(self) -> dict[str, str]:
        described = self._run(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
        return {name: DUCKDB_KINDS.get(kind.upper(), WALL if kind.upper().startswith("TIMESTAMP") else OTHER)
                for name, kind, *_ in described}

    def _rows(self, sql: str) -> list[tuple]:
        return self._run(sql).fetchall()

    def _frame(self, sql: str) -> pd.DataFrame:
        # through Arrow, integers as pandas' nullable Int64 (exact, NULL kept): a million aggregate rows of a
        # backfill convert in ~0.4 s less than with fetch_df (BENCHMARKS.md)
        with self._unreadable_is_bad_input():
            table = self.con.sql(sql).to_arrow_table()
        return table.to_pandas(types_mapper=_nullable_integers)

    def write_csv(self, sql: str, path: Path, header: list[str]) -> None:
        # DuckDB writes the file itself, at its own speed; cells a spreadsheet would run as formulas get a "'"
        quoted = "'" + str(path).replace("'", "''") + "'"
        safe = ", ".join(f"{csv_safe_sql(ident(c))} AS {ident(c)}" for c in header)
        self._run(f"COPY (SELECT {safe} FROM ({sql}) AS rejected) TO {quoted} (HEADER)")
