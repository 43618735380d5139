"""Where the tables live: a folder of CSV/Parquet files, a DuckDB database file, or PostgreSQL by URL.

The data source (``--data``, ``data_source``) is always a string or path. Opening it gives a
:class:`SourceReader`: a :class:`FileReader` finds each table, reads the small ones raw (as strings
for CSV, so that the validator sees exactly what the file holds) and exposes every table to DuckDB
as SQL, which is how the large ``events`` table is read. :func:`open_source` picks the reader from
the data source; PostgreSQL lives in :mod:`csreport.data.postgres`.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from ..config import Config
from ..errors import DataError
from .engines import DuckDBEngine, Engine
from .queries import ident as _ident
from .queries import literal as _sql_str
from .schema import TABLE_NAMES
from .validate import InvalidDataError, Problem, unmapped_columns

DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


class SourceReader(Protocol):
    """An opened data source (SPEC §1) with the config's table names and column mapping applied."""

    kind: str  # folder, duckdb or postgresql

    @property
    def display(self) -> str:
        """The data source as shown in messages and provenance (never with a password)."""
        ...

    def has(self, table: str) -> bool: ...

    def describe(self, table: str) -> str:
        """Where a table comes from, for messages."""
        ...

    def mapping(self, table: str) -> dict[str, str]:
        """SPEC column name -> source column name, from the config."""
        ...

    def read_raw(self, table: str) -> pd.DataFrame:
        """The whole table with SPEC column names and 1-based row numbers as index."""
        ...

    def events_engine(self) -> Engine:
        """The engine of the source itself, over its events table."""
        ...

    def events_path(self) -> Path | None:
        """The events file or folder of Parquet parts, for another engine to read; None if there is none."""
        ...

    def fingerprint(self, events_summary: str = "") -> str:
        """A short content hash of the input: the report's provenance."""
        ...


class FileReader:
    """A folder of CSV/Parquet files or a DuckDB database file (a :class:`SourceReader`)."""

    def __init__(self, data_source: str | Path, config: Config):
        self.path = Path(data_source)
        self.config = config
        if self.path.is_dir():
            self.kind = "folder"
        elif self.path.is_file() and self.path.suffix in DUCKDB_SUFFIXES:
            self.kind = "duckdb"
        elif not self.path.exists():
            raise DataError(f"data source {self.path} does not exist; pass a folder of CSV/Parquet files "
                            "or a DuckDB file to --data (or create demo data with 'csreport demo --out DIR')")
        else:
            raise DataError(f"data source {self.path} is neither a folder nor a DuckDB file "
                            f"({', '.join(DUCKDB_SUFFIXES)})")
        self.connection = duckdb.connect()
        # pinned to UTC: the events queries compute with epoch microseconds, never with a session zone
        self.connection.execute("SET TimeZone = 'UTC'")
        # no DuckDB progress bar: stdout carries metrics.json. In a Jupyter kernel without ipywidgets DuckDB
        # shows no bar and refuses the setting (duckdb#7590)
        with contextlib.suppress(duckdb.InvalidInputException):
            self.connection.execute("SET enable_progress_bar = false")
        if self.kind == "duckdb":
            self.connection.execute(f"ATTACH {_sql_str(str(self.path))} AS src (READ_ONLY)")
        self._files = self._find_files() if self.kind == "folder" else {}

    # -- locating -----------------------------------------------------------------
    def _find_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for table in TABLE_NAMES:
            explicit = self.config.tables.get(table)
            if explicit:
                path = self.path / explicit
                if not path.exists():
                    raise DataError(f"table {table}: config 'tables.{table}' names {explicit}, "
                                    f"which does not exist in {self.path}")
                found[table] = path
                continue
            candidates = [self.path / f"{table}.{ext}" for ext in ("parquet", "csv")]
            candidates.append(self.path / table)  # a folder of Parquet parts (events)
            existing = [p for p in candidates if p.exists()]
            if len(existing) > 1:
                raise DataError(f"table {table}: found {', '.join(p.name for p in existing)} in {self.path}; "
                                "keep one, or pick one with 'tables:' in the config")
            if existing:
                found[table] = existing[0]
        return found

    def _db_tables(self) -> set[str]:
        rows = self.connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'src' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = 'src'"
        ).fetchall()
        return {r[0] for r in rows}

    @property
    def display(self) -> str:
        """The location as shown in messages and provenance."""
        return str(self.path)

    def events_engine(self) -> Engine:
        """DuckDB over the events file(s) or the database's events table."""
        return DuckDBEngine(self.connection, self.relation_sql("events"))

    def events_path(self) -> Path | None:
        """The events file or folder of Parquet parts (a folder source), for another engine to read."""
        return self._files.get("events")

    def has(self, table: str) -> bool:
        if self.kind == "folder":
            return table in self._files
        return self.config.tables.get(table, table) in self._db_tables()

    def describe(self, table: str) -> str:
        """Where a table comes from, for messages."""
        if self.kind == "folder":
            return str(self._files[table])
        return f"{self.path}:{self.config.tables.get(table, table)}"

    def mapping(self, table: str) -> dict[str, str]:
        """SPEC column name -> source column name, from the config."""
        return self.config.columns.get(table, {})

    # -- reading ------------------------------------------------------------------
    def relation_sql(self, table: str) -> str:
        """A SQL expression (FROM clause) that reads the table, columns as in the source."""
        if self.kind == "duckdb":
            return f"src.main.{_ident(self.config.tables.get(table, table))}"
        path = self._files[table]
        if path.is_dir():
            return f"read_parquet({_sql_str(str(path / '**' / '*.parquet'))}, union_by_name = true)"
        if path.suffix == ".parquet":
            return f"read_parquet({_sql_str(str(path))})"
        # every column as text: the validator, not the CSV sniffer, decides what parses
        return f"read_csv({_sql_str(str(path))}, header = true, all_varchar = true)"

    def read_raw(self, table: str) -> pd.DataFrame:
        """The whole table as a DataFrame with SPEC column names and 1-based row numbers as index."""
        if self.kind == "duckdb":
            frame = self.connection.sql(f"SELECT * FROM {self.relation_sql(table)}").to_arrow_table().to_pandas()
        else:
            path = self._files[table]
            frame = _read_csv(table, path) if path.suffix == ".csv" else pd.read_parquet(path)
        if frame.empty and len(frame.columns) == 0:
            raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                            detail=f"{self.describe(table)} holds no header and no rows.")])
        return spec_columns(table, frame, self.mapping(table))

    def fingerprint(self, events_summary: str = "") -> str:
        """A short content hash of every input file (and of ``events_summary`` when the events come
        from elsewhere, e.g. a Spark catalog table): the report's provenance."""
        digest = hashlib.blake2b(digest_size=8)
        digest.update(events_summary.encode())
        paths = [self.path] if self.kind == "duckdb" else sorted(self._files.values())
        for path in paths:
            files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
            for file in files:
                digest.update(file.name.encode())
                with open(file, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
        return digest.hexdigest()


def spec_columns(table: str, frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Rename source columns to SPEC names (config mapping) and number the rows from 1."""
    problems = unmapped_columns(table, list(frame.columns), mapping)
    if problems:
        raise InvalidDataError(problems)
    reverse = {source: spec for spec, source in mapping.items()}
    frame = frame.rename(columns=reverse)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def read_csv_text(text: str) -> pd.DataFrame:
    """CSV text as a frame of strings."""
    # Everything as text and only empty cells as null: 'NA' is a name, not a missing value.
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])


def _read_csv(table: str, path: Path) -> pd.DataFrame:
    content = path.read_bytes()
    if not content.strip():
        raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                        detail=f"{path} has no header and no rows; export the table again.")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise InvalidDataError([Problem(
            table, "", "the file is not UTF-8", blocking=True,
            detail=f"{path} line {line} holds byte 0x{content[exc.start]:02x}, which is not valid UTF-8. "
            "Re-export the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 in.csv > out.csv').")]) from exc
    return read_csv_text(text)


def open_source(data_source: str | Path, config: Config) -> SourceReader:
    """The reader of ``data_source`` (``--data``): a PostgreSQL URL, else a folder or a DuckDB file."""
    from .postgres import is_url

    if is_url(str(data_source)):
        from .postgres import PostgresReader

        return PostgresReader(str(data_source), config)
    return FileReader(data_source, config)
