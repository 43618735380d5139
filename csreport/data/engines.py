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
from pathlib import Path

import pandas as pd

from .dialect import transpile
from .queries import INSTANT, OTHER, TEXT, WALL, ident


class Engine:
    """Runs event queries inside one engine. Subclasses implement ``_rows``, ``_frame`` and ``kinds``."""

    name = "engine"
    relation = ""  # the events table, quoted as in the DuckDB dialect

    def kinds(self) -> dict[str, str]:
        """Source column name -> TEXT, INSTANT, WALL or OTHER, in the table's order."""
        raise NotImplementedError

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
            out.writerows(self._stream(transpile(sql, self.name)))

    def _rows(self, sql: str) -> list[tuple]:
        raise NotImplementedError

    def _frame(self, sql: str) -> pd.DataFrame:
        raise NotImplementedError

    def _stream(self, sql: str):
        return self._rows(sql)


DUCKDB_KINDS = {"TIMESTAMP WITH TIME ZONE": INSTANT, "VARCHAR": TEXT, "DATE": WALL}


class DuckDBEngine(Engine):
    """The embedded default: DuckDB over files or a DuckDB database (the Source's connection)."""

    name = "duckdb"
    relation = ident("csreport_events_source")

    def __init__(self, connection, relation_sql: str):
        self.con = connection
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {self.relation} AS SELECT * FROM {relation_sql}")

    def kinds(self) -> dict[str, str]:
        described = self.con.execute(f"DESCRIBE SELECT * FROM {self.relation}").fetchall()
        return {name: DUCKDB_KINDS.get(kind.upper(), WALL if kind.upper().startswith("TIMESTAMP") else OTHER)
                for name, kind, *_ in described}

    def _rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def _frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).fetch_df()

    def write_csv(self, sql: str, path: Path, header: list[str]) -> None:
        # DuckDB writes the file itself, at its own speed
        quoted = "'" + str(path).replace("'", "''") + "'"
        self.con.execute(f"COPY ({sql}) TO {quoted} (HEADER)")
