"""Where the tables live: a folder of CSV/Parquet files, a DuckDB database file, or PostgreSQL by URL.

The data source (``--data``, ``data_source``) is always a string or path. Opening it gives a
:class:`SourceReader`: a :class:`FileReader` finds each table, reads the small ones raw (as strings
for CSV, so that the validator sees exactly what the file holds) and exposes every table to DuckDB
as SQL, which is how the large ``events`` table is read. :func:`open_source` picks the reader from
the data source; PostgreSQL lives in :mod:`csreport.data.postgres`.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import os
import re
import sys
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from ..config import Config
from ..errors import DataError
from .cache import ResultCache, identities
from .engines import DuckDBEngine, Engine, int96_as_instants
from .queries import ident as _ident
from .queries import literal as _sql_str
from .schema import TABLE_NAMES
from .validate import InvalidDataError, Problem, unmapped_columns

DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
# a CSV cell may be as large as the file (a 50 MB survey comment is data, not a reason to stop)
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
# DuckDB expands these in a file name (glob); a name holding them must match only itself
_GLOB_CHARS = re.compile(r"([\[*?])")


def duckdb_literal_path(path: Path) -> str:
    """``path`` for DuckDB's file readers, matching exactly that file: glob characters escaped (``[`` → ``[[]``)."""
    return _GLOB_CHARS.sub(r"[\1]", str(path))


def read_error(table: str, path: Path, exc: BaseException) -> InvalidDataError:
    """A file of the source that cannot be read (permissions, a folder where a file belongs, a broken file)."""
    if isinstance(exc, IsADirectoryError):
        why, fix = "is a folder, not a file", "Put the table's file there, or remove the folder."
    elif isinstance(exc, PermissionError):
        why, fix = "cannot be read (permission denied)", "Let the user running csreport read it."
    else:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        why, fix = f"cannot be read ({reason})", "Export the table again."
    return InvalidDataError([Problem(table, "", "the file cannot be read", blocking=True,
                                     detail=f"{path} {why}. {fix}")])


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

    def input_files(self, table: str) -> list[Path]:
        """The files whose bytes decide the table's rows, for remembering work on them; [] when there
        are none (a database server): then nothing is remembered."""
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
        # input never makes DuckDB fetch code from the network: a SQLite file passed as --data made it download
        # and load its sqlite extension. Everything csreport uses (Parquet, ICU time zones) is built in.
        self.connection = duckdb.connect(config={"autoinstall_known_extensions": False,
                                                 "autoload_known_extensions": False})
        # pinned to UTC: the events queries compute with epoch microseconds, never with a session zone
        self.connection.execute("SET TimeZone = 'UTC'")
        # no DuckDB progress bar: stdout carries metrics.json. In a Jupyter kernel without ipywidgets DuckDB
        # shows no bar and refuses the setting (duckdb#7590)
        with contextlib.suppress(duckdb.InvalidInputException):
            self.connection.execute("SET enable_progress_bar = false")
        if self.kind == "duckdb":
            try:
                self.connection.execute(f"ATTACH {_sql_str(str(self.path))} AS src (READ_ONLY)")
            except duckdb.Error as exc:
                reason = ("it is a SQLite database; export its tables to CSV or Parquet, or copy them into a DuckDB "
                          "file" if _is_sqlite(self.path) else _first_line(exc))
                raise DataError(f"data source {self.path} is not a DuckDB database DuckDB can open "
                                f"({reason}); pass a DuckDB file written by DuckDB, or a folder of "
                                "CSV/Parquet files") from None
        self._files = self._find_files() if self.kind == "folder" else {}

    # -- locating -----------------------------------------------------------------
    def _find_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for table in TABLE_NAMES:
            explicit = self.config.tables.get(table)
            if explicit:
                path = self.path / explicit
                _no_broken_link(table, path)
                if not path.exists():
                    raise DataError(f"table {table}: config 'tables.{table}' names {explicit}, "
                                    f"which does not exist in {self.path}")
                found[table] = path
                continue
            candidates = [self.path / f"{table}.{ext}" for ext in ("parquet", "csv")]
            candidates.append(self.path / table)  # a folder of Parquet parts (events)
            for candidate in candidates:
                _no_broken_link(table, candidate)
            existing = [p for p in candidates if p.exists()]
            if len(existing) > 1:
                raise DataError(f"table {table}: found {', '.join(p.name for p in existing)} in {self.path}; "
                                "keep one, or pick one with 'tables:' in the config")
            if existing:
                found[table] = existing[0]
        self._no_misnamed_tables(found)
        return found

    def _no_misnamed_tables(self, found: dict[str, Path]) -> None:
        """A table's file under a near name (``Tickets.csv``, ``ticket.parquet``) is an error naming the fix: read
        as absent, its metrics would silently turn "not available"."""
        for entry in sorted(self.path.iterdir()):
            stem, suffix = (entry.name, "") if entry.is_dir() else (entry.stem, entry.suffix.lower())
            if suffix not in ("", ".csv", ".parquet") or entry in found.values():
                continue
            for table in TABLE_NAMES:
                if table not in found and stem.lower() in (table, table.removesuffix("s")):
                    expected = f"{table}{suffix}" if suffix else table
                    raise DataError(f"table {table}: found {entry.name} in {self.path}, not {expected}; table files "
                                    f"are named in lower case, plural. Rename it to {expected}, or name it in the "
                                    f"config: 'tables: {{{table}: {entry.name}}}'")

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
        parts, unreadable = None, None
        if self.kind == "folder" and self._files["events"].is_dir():  # a folder of Parquet parts
            parts = [_sql_str(duckdb_literal_path(f)) for f in self.files("events")]
        elif self.kind == "folder" and self._files["events"].suffix == ".csv":
            path = self._files["events"]

            def unreadable(message: str) -> InvalidDataError | None:
                return unreadable_csv("events", path, message)
        return DuckDBEngine(self.connection, self.relation_sql("events"), self.describe("events"),
                            input_files=self.input_files("events"), part_paths=parts, unreadable=unreadable)

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
        # exactly the files :meth:`files` lists (and the fingerprint hashes): glob characters in a name are escaped
        files = "[" + ", ".join(_sql_str(duckdb_literal_path(f)) for f in self.files(table)) + "]"
        if path.is_dir():
            return int96_as_instants(self.connection, f"read_parquet({files}, union_by_name = true)", files)
        if path.suffix == ".parquet":
            return int96_as_instants(self.connection, f"read_parquet({files})", files)
        # every column as text, named from the header we read: the validator decides what parses, and the
        # reader stops at the first row that breaks RFC 4180. (DuckDB's CSV sniffer took a malformed last row
        # for the header, and gave up on a file without naming a row.)
        columns = ", ".join(f"{_sql_str(name)}: 'VARCHAR'" for name in csv_header(table, path))
        return (f"read_csv({files}, header = true, auto_detect = false, columns = {{{columns}}}, delim = ',', "
                "quote = '\"', escape = '\"')")

    def files(self, table: str) -> list[Path]:
        """The files a table of a folder source is read from: its file, or the Parquet parts of its folder."""
        path = self._files[table]
        if not path.is_dir():
            return [path]
        parts = sorted(p for p in path.rglob("*.parquet") if p.is_file() or p.is_symlink())
        if not parts:
            raise InvalidDataError([Problem(table, "", "the folder holds no Parquet file", blocking=True,
                                            detail=f"{path} is a folder without *.parquet parts; put the "
                                            f"table's parts there, or a {table}.csv / {table}.parquet file.")])
        return parts

    def read_raw(self, table: str) -> pd.DataFrame:
        """The whole table as a DataFrame with SPEC column names and 1-based row numbers as index."""
        if self.kind == "duckdb":
            try:
                frame = self.connection.sql(f"SELECT * FROM {self.relation_sql(table)}").to_arrow_table().to_pandas()
            except duckdb.Error as exc:
                raise read_error(table, self.path, exc) from None
        else:
            path = self._files[table]
            frame = _read_csv(table, path) if path.suffix == ".csv" else _read_parquet(table, path)
        if frame.empty and len(frame.columns) == 0:
            raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                            detail=f"{self.describe(table)} holds no header and no rows.")])
        return spec_columns(table, frame, self.mapping(table))

    def fingerprint(self, events_summary: str = "") -> str:
        """A short content hash of every input file (and of ``events_summary`` when the events come
        from elsewhere, e.g. a Spark catalog table): the report's provenance.

        Each file's content hash is remembered by its identity (:mod:`csreport.data.cache`), so an
        unchanged 10^8-event file is not read again to say that it is unchanged.
        """
        digest = hashlib.blake2b(digest_size=8)
        digest.update(events_summary.encode())
        cache = ResultCache()
        # exactly the files that were read: the same list DuckDB and the readers got
        tables = [("", [self.path])] if self.kind == "duckdb" else [
            (table, self.files(table)) for table in sorted(self._files, key=lambda t: self._files[t])]
        for table, files in tables:
            for file in files:
                root = self._files[table] if table and self._files[table].is_dir() else file.parent
                digest.update(file.relative_to(root).as_posix().encode())
                digest.update(_content_digest(table, file, cache))
        return digest.hexdigest()

    def input_files(self, table: str) -> list[Path]:
        """The files whose bytes decide ``table``'s rows (for remembering work on them): the table's files,
        or the database file and its write-ahead log."""
        if self.kind == "duckdb":
            wal = self.path.with_name(self.path.name + ".wal")
            return [self.path, wal] if wal.exists() else [self.path]
        return self.files(table)


def _content_digest(table: str, file: Path, cache: ResultCache) -> bytes:
    """blake2b-128 of the file's bytes, remembered by the file's identity; a CSV holding a NUL byte is refused."""
    before = identities([file])
    key = before[0] if before else None
    if key is not None:
        known = cache.get("content", key)
        if isinstance(known, str):
            return bytes.fromhex(known)
    digest = hashlib.blake2b(digest_size=16)
    text = file.suffix == ".csv"  # a CSV is text: a NUL byte means a binary or broken file
    try:
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
                if text and b"\x00" in block:
                    raise _nul_byte(table, file)
    except OSError as exc:
        raise read_error(table or "source", file, exc) from None
    if key is not None and identities([file]) == before:  # unchanged while it was read
        cache.put("content", key, digest.hexdigest())
    return digest.digest()


def spec_columns(table: str, frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Rename source columns to SPEC names (config mapping) and number the rows from 1."""
    problems = unmapped_columns(table, list(frame.columns), mapping)
    if problems:
        raise InvalidDataError(problems)
    reverse = {source: spec for spec, source in mapping.items()}
    frame = frame.rename(columns=reverse)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def read_csv_text(text: str, table: str, where: str) -> pd.DataFrame:
    """CSV text (RFC 4180: comma, double quotes) as a frame of strings; empty cells are null.

    Everything is text and only an empty cell is null ('NA' is a name, not a missing value). The
    file's shape is checked first, since a broken row shifts every cell after it: a duplicated
    column name, a row with more or fewer fields than the header, or a quote left open are bad
    input that stops the run in any mode, naming the rows (row 1 = the first data row).
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    try:
        header = next(reader, None)
        if header is None:
            return pd.DataFrame()
        for record in reader:
            if record:  # a blank line is no row
                records.append(record)
    except csv.Error as exc:
        row = len(records) + 1 if reader.line_num > 1 else 0
        where_row = f"data row {row} (line {reader.line_num} of the file)" if row else f"line {reader.line_num}"
        unclosed = "unexpected end of data" in str(exc) or "EOF" in str(exc)
        rule = "a quote is never closed" if unclosed else "the CSV is malformed"
        raise InvalidDataError([Problem(table, "", rule, rows=[row] if row else [], blocking=True,
                                        detail=f"{where}: {where_row}: {exc}. {_QUOTE_FIX}")]) from None
    problems = _csv_shape(table, where, header, records)
    if problems:
        raise InvalidDataError(problems)
    columns = list(zip(*records, strict=True)) if records else [() for _ in header]
    return pd.DataFrame({name: pd.Series([v if v != "" else None for v in values], dtype=object)
                         for name, values in zip(header, columns, strict=True)})


def _csv_shape(table: str, where: str, header: list[str], records: list[list[str]]) -> list[Problem]:
    """Problems with the shape of a CSV table: duplicated column names, rows with the wrong number of fields."""
    problems = []
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    twice = [name for name, n in seen.items() if n > 1]
    if twice:
        problems.append(Problem(table, twice[0], "duplicated column name", blocking=True,
                                detail=f"{where}: the header names {', '.join(repr(n) for n in twice)} more than "
                                "once; which one is meant cannot be told. Rename or remove the extra column."))
    quoted = [name for name in header if '"' in name]
    if quoted:
        problems.append(Problem(table, "", "malformed header", blocking=True,
                                detail=f"{where}: the column name {quoted[0]!r} holds a stray double quote (a quote "
                                "belongs only around a whole cell); the columns cannot be trusted. Export the table "
                                "again."))
    width = len(header)
    wrong = [(i, len(r)) for i, r in enumerate(records, start=1) if len(r) != width]
    if wrong:
        more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
        shown = ", ".join(f"row {i}: {n}" for i, n in wrong[:5]) + more
        problems.append(Problem(
            table, "", "wrong number of fields", rows=[i for i, _ in wrong], blocking=True,
            detail=f"{where}: the header has {width} fields, but {len(wrong)} row(s) do not ({shown} fields). A cell "
            "holding a comma must be quoted; every later cell of such a row would be read into the wrong column."))
    return problems


def csv_header(table: str, path: Path) -> list[str]:
    """The column names of a CSV file read by an engine (events), checked: no name twice, none empty."""
    try:
        with open(path, "rb") as handle:
            first_line = handle.readline()  # only the header: the engine reads the rows (and names a bad one)
        _not_utf16(table, path, first_line[:2])
        header = next(csv.reader([first_line.decode("utf-8-sig")], strict=True), [])
    except UnicodeDecodeError as exc:
        raise _not_utf8(table, path, 1, first_line[exc.start]) from None
    except (OSError, csv.Error) as exc:
        raise read_error(table, path, exc) from None
    if not header:
        raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                        detail=f"{path} has no header and no rows; export the table again.")])
    problems = _csv_shape(table, str(path), header, [])
    unnamed = [number for number, name in enumerate(header, start=1) if not name.strip()]
    if unnamed and not problems:
        problems.append(Problem(table, "", "a column has no name", blocking=True,
                                detail=f"{path}: column {unnamed[0]} of the header is empty. Name the column, or "
                                "export the table again without it."))
    if problems:
        raise InvalidDataError(problems)
    return header


def unreadable_csv(table: str, path: Path, message: str) -> InvalidDataError | None:
    """What is wrong with a CSV file the engine stopped reading (DuckDB's ``message``), naming its line and
    saying how to fix it; None when the message is not about the file's text."""
    found = re.search(r"CSV Error on Line: (\d+)", message)
    if found:
        line = int(found.group(1))
        shown = message.split("Original Line:", 1)[-1].strip().splitlines()
        # the line as DuckDB shows it (undecodable bytes replaced, so not shown for those)
        text = f" ({shown[0][:200]!r})" if shown and "not utf-8" not in message.lower() else ""
        fields = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
        if fields:
            rule, fix = "wrong number of fields", (
                f"the header has {fields.group(1)} fields, this line {fields.group(2)}. A cell holding a comma must "
                "be quoted; fix the line or export the table again.")
        elif "unterminated quote" in message:
            rule, fix = "a quote is never closed", _QUOTE_FIX
        elif "not utf-8" in message.lower():
            rule, fix = "the file is not UTF-8", _UTF8_FIX
        else:
            rule, fix = "the CSV is malformed", "Export the table again."
        return InvalidDataError([Problem(table, "", rule, blocking=True,
                                         detail=f"{path}: line {line} of the file{text}: {fix}")])
    mixed = _mixed_line_endings(path)
    if mixed is not None:
        line, first, other = mixed
        return InvalidDataError([Problem(
            table, "", "mixed line endings", blocking=True,
            detail=f"{path}: line 1 ends with {first}, line {line} with {other}; a CSV file must end every line the "
            "same way. Convert the file to one kind (e.g. 'sed -i \"s/\\r$//\" FILE' or 'dos2unix FILE' make every "
            "line end with LF), then run again.")])
    return None


def _mixed_line_endings(path: Path, chunk_bytes: int = 1 << 24) -> tuple[int, str, str] | None:
    """(line number, line 1's ending, that line's ending) of the first line ending unlike line 1 (CRLF or LF),
    or None. Read in chunks, only when the engine could not read the file."""
    import numpy as np

    names = {True: "CRLF (\\r\\n)", False: "LF (\\n)"}
    lines, first, carried_cr = 0, None, False
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_bytes):
                data = np.frombuffer(chunk, dtype=np.uint8)
                ends = np.flatnonzero(data == ord("\n"))
                # a line ends with CRLF when a CR comes right before its LF (maybe at the end of the last chunk)
                crlf = np.concatenate([[carried_cr], data[:-1] == ord("\r")])[ends] if len(ends) else ends.astype(bool)
                if len(crlf):
                    first = bool(crlf[0]) if first is None else first
                    unlike = np.flatnonzero(crlf != first)
                    if len(unlike):
                        return lines + int(unlike[0]) + 1, names[first], names[not first]
                lines += len(ends)
                carried_cr = chunk.endswith(b"\r")
    except OSError:
        return None
    return None


def _no_broken_link(table: str, path: Path) -> None:
    """A symbolic link whose target is missing (or a loop of links) is an error, never a missing table."""
    if os.path.islink(path) and not path.exists():
        raise InvalidDataError([Problem(table, "", "the file is a broken symbolic link", blocking=True,
                                        detail=f"{path} links to {os.readlink(path)}, which does not exist or "
                                        "links back to itself. Fix or remove the link.")])


_QUOTE_FIX = ("Quote a cell holding commas, quotes or line breaks as \"...\" with inner quotes doubled, then export "
              "the table again.")
_UTF8_FIX = "Re-export the file as UTF-8 (e.g. 'iconv -f latin1 -t utf-8 in.csv > out.csv')."


def _not_utf8(table: str, path: Path, line: int, byte: int) -> InvalidDataError:
    return InvalidDataError([Problem(table, "", "the file is not UTF-8", blocking=True,
                                     detail=f"{path} line {line} holds byte 0x{byte:02x}, which is not valid UTF-8. "
                                     f"{_UTF8_FIX}")])


def _is_sqlite(path: Path) -> bool:
    """A SQLite database file (DuckDB reads one only through an extension, which csreport never loads)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _not_utf16(table: str, path: Path, start: bytes) -> None:
    """A UTF-16 file (Excel's "Unicode text") starts with its byte-order mark; said as such, not as NUL bytes."""
    if start in (b"\xff\xfe", b"\xfe\xff"):
        raise InvalidDataError([Problem(table, "", "the file is UTF-16, not UTF-8", blocking=True,
                                        detail=f"{path} is UTF-16 text. Re-export it as CSV UTF-8 (e.g. "
                                        "'iconv -f utf-16 -t utf-8 in.csv > out.csv').")])


def _nul_byte(table: str, path: Path, line: int | None = None) -> InvalidDataError:
    at = f" (line {line})" if line else ""
    return InvalidDataError([Problem(table, "", "the file holds a NUL byte", blocking=True,
                                     detail=f"{path}{at} holds a NUL character, which no text export contains: the "
                                     "file is binary or damaged. Export the table again.")])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _read_parquet(table: str, path: Path) -> pd.DataFrame:
    import pyarrow

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, pyarrow.ArrowException) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, (IsADirectoryError, PermissionError)):
            exc = ValueError(f"not a readable Parquet file: {_first_line(exc)}")
        raise read_error(table, path, exc) from None


def _read_csv(table: str, path: Path) -> pd.DataFrame:
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise read_error(table, path, exc) from None
    _not_utf16(table, path, content[:2])
    if b"\x00" in content:
        raise _nul_byte(table, path, content[: content.index(b"\x00")].count(b"\n") + 1)
    if not content.strip():
        raise InvalidDataError([Problem(table, "", "the file is empty", blocking=True,
                                        detail=f"{path} has no header and no rows; export the table again.")])
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_utf8(table, path, content[: exc.start].count(b"\n") + 1, content[exc.start]) from exc
    return read_csv_text(text, table, str(path))


def open_source(data_source: str | Path, config: Config) -> SourceReader:
    """The reader of ``data_source`` (``--data``): a PostgreSQL URL, else a folder or a DuckDB file."""
    from .postgres import is_url

    if is_url(str(data_source)):
        from .postgres import PostgresReader

        return PostgresReader(str(data_source), config)
    return FileReader(data_source, config)
