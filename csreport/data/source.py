"""Where the tables live: a folder of CSV/Parquet files, or a DuckDB database file.

A :class:`Source` finds each table, reads the small ones raw (as strings for CSV,
so that the validator sees exactly what the file holds) and exposes every table
to DuckDB as SQL, which is how the large ``events`` table is read.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import duckdb
import pandas as pd

from ..config import TABLE_NAMES, Config
from ..errors import DataError
from .validate import InvalidDataError, Problem, unmapped_columns

DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")


def _sql_str(text: str | Path) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Source:
    """A data source (SPEC §1) with the config's table names and column mapping applied."""

    def __init__(self, location: str | Path, config: Config):
        self.location = Path(location)
        self.config = config
        if self.location.is_dir():
            self.kind = "folder"
        elif self.location.is_file() and self.location.suffix in DUCKDB_SUFFIXES:
            self.kind = "duckdb"
        elif not self.location.exists():
            raise DataError(f"data source {self.location} does not exist; pass a folder of CSV/Parquet files "
                            "or a DuckDB file to --data (or create demo data with 'csreport demo --out DIR')")
        else:
            raise DataError(f"data source {self.location} is neither a folder nor a DuckDB file "
                            f"({', '.join(DUCKDB_SUFFIXES)})")
        self.connection = duckdb.connect()
        self.connection.execute(f"SET TimeZone = {_sql_str(config.timezone)}")
        try:  # no DuckDB progress bar: stdout carries metrics.json
            self.connection.execute("SET enable_progress_bar = false")
        except duckdb.InvalidInputException:
            # in a Jupyter kernel without ipywidgets DuckDB shows no bar and refuses the setting (duckdb#7590)
            pass
        if self.kind == "duckdb":
            self.connection.execute(f"ATTACH {_sql_str(self.location)} AS src (READ_ONLY)")
        self._files = self._find_files() if self.kind == "folder" else {}

    # -- locating -----------------------------------------------------------------
    def _find_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for table in TABLE_NAMES:
            explicit = self.config.tables.get(table)
            if explicit:
                path = self.location / explicit
                if not path.exists():
                    raise DataError(f"table {table}: config 'tables.{table}' names {explicit}, "
                                    f"which does not exist in {self.location}")
                found[table] = path
                continue
            candidates = [self.location / f"{table}.{ext}" for ext in ("parquet", "csv")]
            candidates.append(self.location / table)  # a folder of Parquet parts (events)
            existing = [p for p in candidates if p.exists()]
            if len(existing) > 1:
                raise DataError(f"table {table}: found {', '.join(p.name for p in existing)} in {self.location}; "
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

    def has(self, table: str) -> bool:
        if self.kind == "folder":
            return table in self._files
        return self.config.tables.get(table, table) in self._db_tables()

    def describe(self, table: str) -> str:
        """Where a table comes from, for messages."""
        if self.kind == "folder":
            return str(self._files[table])
        return f"{self.location}:{self.config.tables.get(table, table)}"

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
            return f"read_parquet({_sql_str(path / '**' / '*.parquet')}, union_by_name = true)"
        if path.suffix == ".parquet":
            return f"read_parquet({_sql_str(path)})"
        # every column as text: the validator, not the CSV sniffer, decides what parses
        return f"read_csv({_sql_str(path)}, header = true, all_varchar = true)"

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
        problems = unmapped_columns(table, list(frame.columns), self.mapping(table))
        if problems:
            raise InvalidDataError(problems)
        reverse = {source: spec for spec, source in self.mapping(table).items()}
        frame = frame.rename(columns=reverse)
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame

    def fingerprint(self) -> str:
        """A short content hash of every input file: the report's provenance."""
        digest = hashlib.blake2b(digest_size=8)
        paths = [self.location] if self.kind == "duckdb" else sorted(self._files.values())
        for path in paths:
            files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
            for file in files:
                digest.update(file.name.encode())
                with open(file, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 22), b""):
                        digest.update(block)
        return digest.hexdigest()


def _read_csv(table: str, path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                        detail=f"{path} has no header and no rows; export the table again.")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidDataError([Problem(
            table, "", "the file is not UTF-8", blocking=True,
            detail=f"{path} line {line} holds byte 0x{data[exc.start]:02x}, which is not valid UTF-8. "
            "Re-export the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 in.csv > out.csv').")]) from exc
    # Everything as text and only empty cells as null: 'NA' is a name, not a missing value.
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
