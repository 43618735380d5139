"""The history store: every run's metrics, keyed by (period, metric, segment).

SQLite (standard library) rather than DuckDB here because several processes may
write at once: SQLite serialises writers with a lock and waits (busy timeout),
where a second DuckDB process could not open the file at all. Re-running a period
replaces all its rows in one transaction, so the store is idempotent, and an
interrupted run rolls back and leaves it as it was.
"""
from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from ..errors import HistoryError
from ..metrics.catalog import COHORT_KEYS

ALL = ""  # the segment value of company-wide metrics
BUSY_TIMEOUT_S = 60

SCHEMA = """
CREATE TABLE IF NOT EXISTS metric_history (
    period TEXT NOT NULL,              -- 'YYYY-MM'
    metric TEXT NOT NULL,              -- SPEC key; 'feature_adoption_pct:<feature>' for the dict metric
    segment TEXT NOT NULL,             -- '' for all customers
    value REAL,                        -- NULL when the metric could not be computed
    n INTEGER,                         -- responses behind a survey metric (for significance)
    variance REAL,                     -- per-response variance of a survey metric (share or score units)
    source_fingerprint TEXT NOT NULL,
    run_at TEXT NOT NULL,
    PRIMARY KEY (period, metric, segment)
);
"""


def flatten(values: dict) -> dict[str, float | None]:
    """Metric values as numbers; the feature-adoption dict becomes one row per feature.

    The cohort retention curves are left out: they are recomputed from revenue for any
    period, and a history of lists has no one number per (period, metric, segment).
    """
    flat: dict[str, float | None] = {}
    for key, value in values.items():
        if key in COHORT_KEYS:
            continue
        if isinstance(value, dict):
            flat.update({f"{key}:{feature}": share for feature, share in value.items()})
        else:
            flat[key] = value
    return flat


class History:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            con.executescript(SCHEMA)
            return con
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc

    def write_period(self, period: str, segments: dict[str, dict], stats: dict[str, dict[str, tuple]],
                     fingerprint: str) -> int:
        """Replace every row of ``period`` with ``segments`` ({segment: {metric: value}}) in one transaction.

        ``stats`` holds (n, variance) per segment and survey metric for significance tests.
        """
        run_at = datetime.now(UTC).isoformat(timespec="seconds")
        rows = []
        for segment, values in segments.items():
            for metric, value in flatten(values).items():
                n, variance = stats.get(segment, {}).get(metric, (None, None))
                rows.append((period, metric, segment, value, n, variance, fingerprint, run_at))
        with closing(self._connect()) as con:
            try:
                con.execute("BEGIN IMMEDIATE")  # take the write lock now; others wait up to the busy timeout
                con.execute("DELETE FROM metric_history WHERE period = ?", (period,))
                con.executemany("INSERT INTO metric_history VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                con.execute("COMMIT")
            except sqlite3.Error as exc:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise HistoryError(f"could not write period {period} to {self.path}: {exc}; "
                                   "the store was left unchanged") from exc
        return len(rows)

    def read(self, periods: list[str], segment: str = ALL) -> dict[str, dict[str, tuple]]:
        """{period: {metric: (value, n, variance)}} of one scope for the periods the store holds."""
        return self.read_scopes(periods).get(segment, {})

    def read_scopes(self, periods: list[str]) -> dict[str, dict[str, dict[str, tuple]]]:
        """{segment: {period: {metric: (value, n, variance)}}} for every scope the store holds."""
        if not self.path.exists() or not periods:
            return {}
        marks = ",".join("?" * len(periods))
        query = (f"SELECT segment, period, metric, value, n, variance FROM metric_history WHERE period IN ({marks})",
                 tuple(periods))
        rows = self._read_quietly(*query)
        if rows is None:
            with closing(self._connect()) as con:
                try:
                    rows = con.execute(*query).fetchall()
                except sqlite3.Error as exc:
                    raise HistoryError(f"cannot read the history store {self.path}: {exc}") from exc
        out: dict[str, dict[str, dict[str, tuple]]] = {}
        for segment, period, metric, value, n, variance in rows:
            out.setdefault(segment, {}).setdefault(period, {})[metric] = (value, n, variance)
        return out

    def _read_quietly(self, sql: str, parameters: tuple) -> list[tuple] | None:
        """The rows of a query, read without writing anything next to the store; None when that is not possible.

        An ordinary SQLite connection to a WAL store creates ``-wal`` and ``-shm`` files beside it,
        even to read, so an analyst's notebook would write into the published reports folder (and
        fail where that folder is read-only). While no writer is at work (no ``-wal`` file) the
        store is read as an immutable file instead; if it changed meanwhile (a writer checkpointed
        into it) the rows are not trusted and the caller reads it the ordinary way.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists():
            return None
        before = self.path.stat()
        try:
            with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)) as con:
                rows = con.execute(sql, parameters).fetchall()
        except sqlite3.Error:  # a damaged store: the ordinary read reports it
            return None
        after = self.path.stat()
        if wal.exists() or (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            return None
        return rows

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with closing(self._connect()) as con:
            return con.execute("SELECT count(*) FROM metric_history").fetchone()[0]
