"""PostgreSQL by URL: ``postgresql://USER@HOST:PORT/DB[?schema=NAME]``.

The seven tables are read from one schema (default ``public``) with the same
``tables:`` and ``columns:`` mapping as files. The small tables come over COPY
as CSV text, so they are validated exactly like CSV files; the events stay in
PostgreSQL, which runs the aggregation queries (:mod:`csreport.data.queries`,
transpiled) and returns only per-account aggregates.

The password never appears in a URL, a log, a notebook or a report: libpq takes
it from ``PGPASSWORD`` or ``~/.pgpass``. A URL that holds one is refused.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pandas as pd

from ..config import Config
from ..errors import ConfigError, DataError
from .engines import Engine
from .queries import INSTANT, OTHER, TEXT, WALL, ident
from .source import read_csv_text, spec_columns

SCHEMES = ("postgresql://", "postgres://")
PG_KINDS = {"timestamp with time zone": INSTANT, "timestamp without time zone": WALL, "date": WALL,
            "text": TEXT, "character varying": TEXT, "character": TEXT}


def is_url(text: str) -> bool:
    return text.lower().startswith(SCHEMES)


@dataclass(frozen=True)
class PgUrl:
    user: str | None
    host: str
    port: int | None
    database: str
    schema: str
    options: tuple[tuple[str, str], ...]  # other libpq parameters, e.g. sslmode=require

    @classmethod
    def parse(cls, text: str) -> PgUrl:
        """Parse the URL; a password in it is refused (the message never repeats the URL)."""
        parts = urlsplit(text)
        if parts.password is not None:
            raise ConfigError("the --data URL contains a password; csreport never takes a password on the command "
                              "line, where logs and shell history keep it. Remove it from the URL and set "
                              "PGPASSWORD in the environment (or use a ~/.pgpass file).")
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "password" in params:
            raise ConfigError("the --data URL has a password parameter; remove it and set PGPASSWORD in the "
                              "environment (or use a ~/.pgpass file).")
        database = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not database:
            raise ConfigError("a PostgreSQL --data URL needs a host and a database: "
                              "postgresql://USER@HOST:PORT/DATABASE[?schema=NAME]")
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigError("the port in the --data URL is not a number") from exc
        schema = params.pop("schema", "public") or "public"
        return cls(unquote(parts.username) if parts.username else None, parts.hostname, port, database, schema,
                   tuple(sorted(params.items())))

    def display(self) -> str:
        """The URL as shown in messages and provenance (it never held a password)."""
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"postgresql://{user}{self.host}{port}/{self.database}?schema={self.schema}"

    def connect(self):
        try:
            import psycopg
            from psycopg.conninfo import make_conninfo
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise ConfigError("reading PostgreSQL needs psycopg: pip install 'psycopg[binary]'") from exc
        # the session is pinned to UTC (as-of rule and epoch arithmetic never depend on the server's zone)
        params: dict[str, str | int] = dict(self.options, host=self.host, dbname=self.database,
                                            options="-c TimeZone=UTC", application_name="csreport")
        if self.port:
            params["port"] = self.port
        if self.user:
            params["user"] = self.user
        try:
            # one conninfo string, as psycopg.connect builds from keywords itself (it quotes the values)
            connection = psycopg.connect(make_conninfo("", **params), autocommit=True)
            # and pinned again once connected: libpq sends the client's PGTZ and PGDATESTYLE at startup, after
            # the options above, and PGTZ=Asia/Kolkata read a naive text '2026-03-01T02:00' as 20:30 UTC on
            # 28 February (a naive text is wall-clock time of the config's zone, worked out in the queries)
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute("SET DateStyle = 'ISO, YMD'")
            return connection
        except psycopg.Error as exc:
            raise DataError(f"could not connect to {self.display()}: {str(exc).strip()}. Check host, port, "
                            "database and user; the password comes from PGPASSWORD or ~/.pgpass.") from exc


class PostgresEngine(Engine):
    """Runs the events queries inside PostgreSQL."""

    name = "postgresql"

    def __init__(self, connection, schema: str, table: str, where: str):
        self.con = connection
        self.schema, self.table, self.where = schema, table, where
        self.relation = f"{ident(schema)}.{ident(table)}"

    def kinds(self) -> dict[str, str]:
        rows = self._rows_plain("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                                (self.schema, self.table))
        return {name: PG_KINDS.get(kind, OTHER) for name, kind in rows}

    def _rows_plain(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        try:
            return self.con.execute(sql, params or None).fetchall()
        except psycopg.Error as exc:
            raise DataError(f"PostgreSQL ({self.where}) refused a query: {str(exc).strip()}") from exc

    def _rows(self, sql: str) -> list[tuple]:
        return self._rows_plain(sql)

    def _frame(self, sql: str) -> pd.DataFrame:
        import psycopg

        try:
            cursor = self.con.execute(sql)
            return pd.DataFrame(cursor.fetchall(), columns=[d.name for d in cursor.description])
        except psycopg.Error as exc:
            raise DataError(f"PostgreSQL ({self.where}) refused a query: {str(exc).strip()}") from exc

    def write_csv(self, sql: str, path: Path, header: list[str]) -> None:
        from .dialect import transpile

        statement = f"COPY ({transpile(sql, self.name)}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with open(path, "wb") as handle, self.con.cursor() as cursor, cursor.copy(statement) as copy:
            for block in copy:
                handle.write(block)


class PostgresReader:
    """The seven tables in one PostgreSQL schema (a :class:`~csreport.data.source.SourceReader`)."""

    kind = "postgresql"

    def __init__(self, data_source: str, config: Config):
        self.url = PgUrl.parse(data_source)
        self.config = config
        self.connection = self.url.connect()
        self._digest = hashlib.blake2b(digest_size=8)
        rows = self.connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (self.url.schema,)).fetchall()
        self._tables = {r[0] for r in rows}
        if not self._tables:
            raise DataError(f"{self.display} has no tables in schema {self.url.schema!r}; "
                            "name the schema with ?schema=NAME in the URL")

    @property
    def display(self) -> str:
        return self.url.display()

    def _name(self, table: str) -> str:
        return self.config.tables.get(table, table)

    def has(self, table: str) -> bool:
        return self._name(table) in self._tables

    def describe(self, table: str) -> str:
        return f"{self.display} table {self.url.schema}.{self._name(table)}"

    def mapping(self, table: str) -> dict[str, str]:
        return self.config.columns.get(table, {})

    def read_raw(self, table: str) -> pd.DataFrame:
        """The table as text (COPY ... CSV), validated like a CSV file; rows in the table's stored order."""
        relation = f"{ident(self.url.schema)}.{ident(self._name(table))}"
        chunks = []
        statement = f"COPY (SELECT * FROM {relation}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with self.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for block in copy:
                chunks.append(bytes(block))
        content = b"".join(chunks)
        self._digest.update(table.encode() + content)
        frame = read_csv_text(content.decode("utf-8"), table, self.describe(table))
        return spec_columns(table, frame, self.mapping(table))

    def events_engine(self) -> Engine:
        return PostgresEngine(self.connection, self.url.schema, self._name("events"), self.display)

    def events_path(self) -> Path | None:
        return None  # the events are a PostgreSQL table

    def input_files(self, table: str) -> list[Path]:
        """No files: a server's tables have no file identity, so their validation is never remembered."""
        return []

    def fingerprint(self, events_summary: str = "") -> str:
        """A hash of the tables read (as COPY text) and of the events' validation summary."""
        digest = self._digest.copy()
        digest.update(events_summary.encode())
        return digest.hexdigest()
