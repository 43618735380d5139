"""The ``events`` table, kept inside DuckDB.

Usage events can number 10^8 rows, so they are never loaded into pandas. This
module validates them with two cheap SQL scans and hands pandas only aggregates:

* ``account_days``     month, account_id, day, users   (distinct users per account and day)
* ``account_months``   month, account_id, users        (distinct users per account and month)
* ``account_features`` month, account_id, event, users (distinct users per account, month, feature)

Because a user is the pair (account_id, user_id), distinct users add up across
accounts, so these aggregates are enough for MAU, DAU, adoption and health.
Timestamps are turned into wall-clock time of the configured zone (DuckDB's
``TimeZone`` setting), so calendar days and months are local ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..periods import Period
from .schema import TABLES
from .source import Source, _ident, _sql_str
from .validate import InvalidDataError, Problem, missing_columns, unmapped_columns

EXAMPLES = 5


@dataclass
class EngagementAggregates:
    account_days: pd.DataFrame
    account_months: pd.DataFrame
    account_features: pd.DataFrame

    def subset(self, account_ids: set[str]) -> EngagementAggregates:
        return EngagementAggregates(
            *(frame[frame["account_id"].isin(account_ids)].reset_index(drop=True)
              for frame in (self.account_days, self.account_months, self.account_features))
        )

    def for_month(self, period: Period) -> EngagementAggregates:
        month = str(period)
        return EngagementAggregates(
            *(frame[frame["month"] == month].drop(columns="month").reset_index(drop=True)
              for frame in (self.account_days, self.account_months, self.account_features))
        )


class EventStore:
    """Validated access to the events table; only aggregates leave DuckDB."""

    def __init__(self, source: Source, known_accounts: pd.Series):
        self.source = source
        self.con: duckdb.DuckDBPyConnection = source.connection
        self.rows = 0
        self.rejected = 0
        self.problems: list[Problem] = []
        self._create_typed_view(known_accounts)

    def _create_typed_view(self, known_accounts: pd.Series) -> None:
        relation = self.source.relation_sql("events")
        mapping = self.source.mapping("events")
        described = self.con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        problems = unmapped_columns("events", [name for name, *_ in described], mapping)
        if problems:
            raise InvalidDataError(problems)
        reverse = {source: spec for spec, source in mapping.items()}
        spec_types = {reverse.get(name, name): kind.upper() for name, kind, *_ in described}
        problems = missing_columns(TABLES["events"], list(spec_types), mapping)
        if problems:
            raise InvalidDataError(problems)

        def text(spec_name: str) -> str:
            # casts cost time on 10^8 rows: only cast what is not text already
            column = _ident(mapping.get(spec_name, spec_name))
            return column if spec_types[spec_name] == "VARCHAR" else f"CAST({column} AS VARCHAR)"

        raw_time = _ident(mapping.get("occurred_at", "occurred_at"))
        kind = spec_types["occurred_at"]
        self._time_is_text = not (kind.startswith("TIMESTAMP") or kind == "DATE")

        def wall_clock(instant: str) -> str:
            """TIMESTAMPTZ -> wall-clock TIMESTAMP of the zone. In UTC plain arithmetic does it,
            twice as fast as the ICU time-zone cast that other zones need."""
            if self.source.config.timezone == "UTC":
                return f"make_timestamp(epoch_us({instant}))"
            return f"CAST({instant} AS TIMESTAMP)"

        if self._time_is_text:
            # an explicit offset is honoured; a naive time is read in the session TimeZone
            local = wall_clock(f"TRY_CAST({raw_time} AS TIMESTAMPTZ)")
        elif kind == "TIMESTAMP WITH TIME ZONE":
            local = wall_clock(raw_time)
        else:
            local = f"CAST({raw_time} AS TIMESTAMP)"  # naive: already wall-clock time of the zone
        self.known_accounts = set(known_accounts.astype(str))
        self.con.execute(f"""
            CREATE OR REPLACE TEMP VIEW events_typed AS
            SELECT {text('account_id')} AS account_id, {text('user_id')} AS user_id, {text('event')} AS event,
                   {local} AS occurred_local, {text('occurred_at')} AS occurred_raw, {raw_time} AS occurred_src
            FROM {relation}""")
        # Filters on the source column let DuckDB skip Parquet row groups and avoid a time-zone
        # conversion per row; a TIMESTAMPTZ literal is read in the session TimeZone.
        self._bound_type = "TIMESTAMP" if self._time_is_text or kind != "TIMESTAMP WITH TIME ZONE" else "TIMESTAMPTZ"
        self._bound_column = "occurred_local" if self._time_is_text else "occurred_src"

    def validate(self, quarantine_to: Path | None) -> None:
        """Check every event in two cheap scans. Raise on bad rows, or set them aside into a rejects file."""
        checks = {
            ("user_id", "empty value"): "user_id IS NULL OR user_id = ''",
            ("event", "empty value"): "event IS NULL OR event = ''",
        }
        if self._time_is_text:
            checks[("occurred_at", "empty value")] = "occurred_raw IS NULL OR occurred_raw = ''"
            checks[("occurred_at", "unparsable timestamp")] = "occurred_raw <> '' AND occurred_local IS NULL"
        else:  # typed column: no text cast of 10^8 timestamps
            checks[("occurred_at", "empty value")] = "occurred_src IS NULL"
        counts = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in checks.values())
        row = self.con.execute(f"SELECT count(*), {counts} FROM events_typed").fetchone()
        self.rows = int(row[0])
        found = {label: int(n) for label, n in zip(checks, row[1:]) if n}

        # account checks on the distinct ids only (a few thousand), not row by row
        per_account = self.con.execute("SELECT account_id, count(*) FROM events_typed GROUP BY ALL").fetchall()
        empty = [(a, n) for a, n in per_account if a is None or a == ""]
        unknown = sorted(a for a, _ in per_account if a not in (None, "") and a not in self.known_accounts)
        if empty:
            found[("account_id", "empty value")] = sum(n for _, n in empty)
            checks[("account_id", "empty value")] = "account_id IS NULL OR account_id = ''"
        if unknown:
            self.con.register("csreport_unknown_accounts", pd.DataFrame({"account_id": unknown}))
            condition = "account_id IN (SELECT account_id FROM csreport_unknown_accounts)"
            found[("account_id", "unknown account_id")] = sum(n for a, n in per_account if a in set(unknown))
            checks[("account_id", "unknown account_id")] = condition

        for (column, rule), count in found.items():
            examples = self.con.execute(f"SELECT account_id, user_id, event, occurred_raw FROM events_typed "
                                        f"WHERE {checks[(column, rule)]} LIMIT {EXAMPLES}").fetchall()
            self.problems.append(Problem(
                "events", column, rule, rows=[], total=count,
                values=[f"account_id={a}, user_id={u}, event={e}, occurred_at={t}" for a, u, e, t in examples],
            ))
        if self.problems and quarantine_to is None:
            raise InvalidDataError(self.problems)
        if self.problems:
            any_bad = "coalesce(" + " OR ".join(f"({checks[label]})" for label in found) + ", false)"
            quarantine_to.parent.mkdir(parents=True, exist_ok=True)
            self.con.execute(f"""COPY (SELECT account_id, user_id, event, occurred_raw AS occurred_at
                                      FROM events_typed WHERE {any_bad}) TO {_sql_str(quarantine_to)} (HEADER)""")
            self.rejected = int(self.con.execute(f"SELECT count(*) FROM events_typed WHERE {any_bad}").fetchone()[0])
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW events_valid AS SELECT * FROM events_typed "
                             f"WHERE NOT ({any_bad})")
        else:
            self.con.execute("CREATE OR REPLACE TEMP VIEW events_valid AS SELECT * FROM events_typed")

    def aggregates(self, first: Period, last: Period) -> EngagementAggregates:
        """Per-account daily/monthly distinct users and per-feature users, for months first..last."""
        start = _sql_str(first.start_date.strftime("%Y-%m-%d %H:%M:%S"))
        end = _sql_str(last.end_date.strftime("%Y-%m-%d %H:%M:%S"))
        scoped = f"""
            SELECT account_id, user_id, event, occurred_local FROM events_valid
            WHERE {self._bound_column} >= CAST({start} AS {self._bound_type})
              AND {self._bound_column} < CAST({end} AS {self._bound_type})"""
        month = "date_trunc('month', occurred_local)"  # a string per row would cost more
        # Three small GROUP BYs: measured faster in DuckDB than one GROUPING SETS query (bench/run.py)
        days = self._frame(f"""SELECT {month} AS month, account_id, CAST(occurred_local AS DATE) AS day,
                                      count(DISTINCT user_id) AS users FROM ({scoped}) GROUP BY ALL ORDER BY ALL""")
        months = self._frame(f"""SELECT {month} AS month, account_id, count(DISTINCT user_id) AS users
                                 FROM ({scoped}) GROUP BY ALL ORDER BY ALL""")
        features = self._frame(f"""SELECT {month} AS month, account_id, event, count(DISTINCT user_id) AS users
                                   FROM ({scoped}) GROUP BY ALL ORDER BY ALL""")
        days["day"] = pd.to_datetime(days["day"]).astype("datetime64[us]")
        for frame in (days, months, features):
            frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y-%m")
        return EngagementAggregates(days, months, features)

    def _frame(self, sql: str) -> pd.DataFrame:
        frame = self.con.execute(sql).fetch_df()
        return frame.astype({"users": "int64"})
