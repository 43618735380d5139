"""Every engine-side query on the events table, written once.

The SQL here is DuckDB's dialect and runs as written on DuckDB; PostgreSQL and
Spark get it transpiled by SQLGlot (:mod:`csreport.data.dialect`). It sticks
to what transpiles exactly: integer arithmetic on epoch microseconds (no time
zones, see :mod:`csreport.data.clock`), CASE, exact ``count(DISTINCT ...)``,
LAG and running SUM windows, and explicit NULL handling (a NULL never decides
a CASE by accident: every comparison that may meet NULL is spelled out).

Column kinds of ``occurred_at``: ``instant`` (a time-zone-aware timestamp),
``wall`` (a naive timestamp or a date: wall-clock time of the configured zone),
``text`` (ISO 8601, with or without an offset). Anything else is read as text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from .clock import Scan

TEXT, INSTANT, WALL, OTHER = "text", "instant", "wall", "other"
SPEC_COLUMNS = ("account_id", "user_id", "event", "occurred_at")
USER_KEY = "account_id, user_id"  # a user is an account's user_id

# ISO 8601 date, optional time, optional offset (only after a time); ranges checked by the pattern itself.
# No backslashes: Spark string literals would eat them.
ISO_TIMESTAMP = ("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
        "([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$")
_ISO = ISO_TIMESTAMP  # the one pattern: the small tables are parsed with it too (csreport.data.parse)
_HAS_OFFSET = "(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
# Invisible characters (Unicode format characters: soft hyphen, zero-width spaces and joiners, byte-order
# mark, bidirectional controls). In an id or a name that is counted ('u1' and 'u1' with a zero-width space)
# they make one thing count as two while looking like one: bad input. Literal characters, not escapes,
# so the pattern means the same to DuckDB, PostgreSQL, Spark and Python's re.
INVISIBLE = "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _parse_text(t: str) -> str:
    """SQL: the ISO 8601 text ``t`` as TIMESTAMPTZ (session pinned to UTC: a naive text reads as UTC), or NULL.

    The pattern and the day-of-month check come first, in a CASE, so that an engine
    without TRY_CAST (PostgreSQL) never sees a text it cannot cast.
    """
    month, day = f"substr({t}, 6, 2)", f"substr({t}, 9, 2)"
    year = f"CAST(substr({t}, 1, 4) AS INTEGER)"
    leap = f"({year} % 4 = 0 AND ({year} % 100 <> 0 OR {year} % 400 = 0))"
    return (f"CASE WHEN NOT regexp_matches({t}, {literal(_ISO)}) THEN NULL "
            f"WHEN {day} <= '28' THEN TRY_CAST({t} AS TIMESTAMPTZ) "
            f"WHEN {month} IN ('04', '06', '09', '11') AND {day} = '31' THEN NULL "
            f"WHEN {month} = '02' AND ({day} > '29' OR NOT {leap}) THEN NULL "
            f"ELSE TRY_CAST({t} AS TIMESTAMPTZ) END")


@dataclass(frozen=True)
class EventsTable:
    """The events table as an engine sees it: where it is, its columns, and what counts as bad.

    ``columns`` maps each SPEC column to its source column name; ``kinds`` gives each
    SPEC column's kind (TEXT, INSTANT, WALL or OTHER). ``bad`` is a SQL condition on the
    typed columns for rows set aside by quarantine (None: every row is used).
    """

    relation: str
    columns: dict[str, str]
    kinds: dict[str, str]
    bad: str | None = None

    def _text(self, spec: str) -> str:
        column = ident(self.columns[spec])
        return column if self.kinds[spec] == TEXT else f"CAST({column} AS VARCHAR)"

    @property
    def time_kind(self) -> str:
        kind = self.kinds["occurred_at"]
        return kind if kind in (INSTANT, WALL) else TEXT

    def typed(self) -> str:
        """SQL: account_id, user_id, event as text; ``t`` (trimmed text of a text time), ``stamp``
        (the parsed TIMESTAMPTZ, or the typed column) and ``src`` (the time column as stored)."""
        src = ident(self.columns["occurred_at"])
        if self.time_kind == TEXT:
            text = f"trim({self._text('occurred_at')})"
            stamp = _parse_text("t")
            inner = (f"SELECT {self._text('account_id')} AS account_id, {self._text('user_id')} AS user_id, "
                     f"{self._text('event')} AS event, {text} AS t, {src} AS src FROM {self.relation}")
            return f"SELECT account_id, user_id, event, t, {stamp} AS stamp, src FROM ({inner}) AS raw_events"
        stamp = src if self.time_kind == INSTANT else f"CAST({src} AS TIMESTAMP)"
        return (f"SELECT {self._text('account_id')} AS account_id, {self._text('user_id')} AS user_id, "
                f"{self._text('event')} AS event, CAST(NULL AS VARCHAR) AS t, {stamp} AS stamp, {src} AS src "
                f"FROM {self.relation}")

    def valid(self) -> str:
        """SQL: the typed rows that are used (without the quarantined ones)."""
        return self.typed() if self.bad is None else f"SELECT * FROM ({self.typed()}) AS typed WHERE NOT ({self.bad})"

    # -- validation ---------------------------------------------------------------------------
    def checks(self) -> dict[tuple[str, str], str]:
        """(column, rule) -> SQL condition on the typed columns of a bad row."""
        checks = {
            ("user_id", "empty value"): "user_id IS NULL OR user_id = ''",
            ("event", "empty value"): "event IS NULL OR event = ''",
            ("user_id", "invisible character"): f"regexp_matches(user_id, {literal(INVISIBLE)})",
            ("event", "invisible character"): f"regexp_matches(event, {literal(INVISIBLE)})",
        }
        if self.time_kind == TEXT:
            checks[("occurred_at", "empty value")] = "t IS NULL OR t = ''"
            checks[("occurred_at", "unparsable timestamp")] = "t <> '' AND stamp IS NULL"
        else:
            checks[("occurred_at", "empty value")] = "src IS NULL"
        return checks

    def validation_sql(self, active_events: list[str]) -> str:
        """SQL, one row: total rows, then bad rows per check, then rows per active event (in order)."""
        counts = [f"sum(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in self.checks().values()]
        counts += [f"sum(CASE WHEN event = {literal(e)} THEN 1 ELSE 0 END)" for e in active_events]
        return f"SELECT count(*), {', '.join(counts)} FROM ({self.typed()}) AS typed"

    def per_account_sql(self) -> str:
        """SQL: rows per account_id (the account checks run on these few thousand ids, not per row)."""
        return f"SELECT account_id, count(*) FROM ({self.typed()}) AS typed GROUP BY account_id"

    def events_sql(self) -> str:
        """SQL: the distinct event (feature) names, for the look-alike check."""
        return f"SELECT DISTINCT event FROM ({self.typed()}) AS typed WHERE event IS NOT NULL"

    def examples_sql(self, condition: str, limit: int) -> str:
        time_text = "t" if self.time_kind == TEXT else "CAST(src AS VARCHAR)"
        return (f"SELECT account_id, user_id, event, {time_text} FROM ({self.typed()}) AS typed "
                f"WHERE {condition} LIMIT {limit}")

    def rejects_sql(self, condition: str) -> str:
        time_text = "t" if self.time_kind == TEXT else "CAST(src AS VARCHAR)"
        return (f"SELECT account_id, user_id, event, {time_text} AS occurred_at FROM ({self.typed()}) AS typed "
                f"WHERE coalesce({condition}, false)")

    # -- aggregation --------------------------------------------------------------------------
    def _instants(self, scan: Scan, lead_us: int) -> str:
        """SQL: valid rows with ``instant`` (epoch µs of the true instant) in [lo − lead, hi)."""
        lo, hi = scan.lo_us - lead_us, scan.hi_us
        micros = "epoch_us(stamp)"
        if self.time_kind == INSTANT:
            instant = micros
            # on the stored column, so that Parquet row groups outside the scan are skipped
            pre = (f"src >= CAST({literal(_utc_text(lo))} AS TIMESTAMPTZ) "
                   f"AND src < CAST({literal(_utc_text(hi))} AS TIMESTAMPTZ)")
        elif self.time_kind == WALL:
            instant = scan.instant_of_wall_sql(micros)
            # wall-clock bounds widened by a day: any zone's offset is less than that
            pre = (f"src >= CAST({literal(_utc_text(lo - 86_400_000_000, naive=True))} AS TIMESTAMP) "
                   f"AND src < CAST({literal(_utc_text(hi + 86_400_000_000, naive=True))} AS TIMESTAMP)")
        else:
            # a text with an offset is an instant; without, wall-clock time of the zone
            wall = scan.instant_of_wall_sql(micros)
            instant = micros if wall == micros else (
                f"CASE WHEN length(t) > 10 AND regexp_matches(t, {literal(_HAS_OFFSET)}) THEN {micros} ELSE {wall} END")
            pre = "stamp IS NOT NULL"
        stamped = f"SELECT account_id, user_id, event, {instant} AS instant FROM ({self.valid()}) AS v WHERE {pre}"
        return f"SELECT * FROM ({stamped}) AS s WHERE instant >= {lo} AND instant < {hi}"

    def _calendar(self, scan: Scan) -> str:
        """SQL: in-scan rows with month_index (into scan.months) and day_index (local day since the scan's first)."""
        return (f"SELECT account_id, user_id, event, {scan.month_index_sql('instant')} AS month_index, "
                f"{scan.day_index_sql('instant')} AS day_index FROM ({self._instants(scan, 0)}) AS i")

    def account_days_sql(self, scan: Scan, active_events: list[str] | None) -> str:
        """SQL: month_index, account_id, day_index, users: distinct users per account and local day (active events)."""
        return (f"SELECT month_index, account_id, day_index, count(DISTINCT user_id) AS users "
                f"FROM ({self._calendar(scan)}) AS c {_active(active_events)} "
                "GROUP BY month_index, account_id, day_index")

    def account_months_sql(self, scan: Scan, active_events: list[str] | None) -> str:
        """SQL: month_index, account_id, users: distinct users per account and month (active events)."""
        return (f"SELECT month_index, account_id, count(DISTINCT user_id) AS users "
                f"FROM ({self._calendar(scan)}) AS c {_active(active_events)} GROUP BY month_index, account_id")

    def account_features_sql(self, scan: Scan) -> str:
        """SQL: month_index, account_id, event, users: distinct users per account, month and feature (every event)."""
        return (f"SELECT month_index, account_id, event, count(DISTINCT user_id) AS users "
                f"FROM ({self._calendar(scan)}) AS c GROUP BY month_index, account_id, event")

    def account_activity_sql(self, scan: Scan, active_events: list[str] | None) -> str:
        """SQL: the three user counts of :meth:`account_days_sql`, :meth:`account_months_sql` and
        :meth:`account_features_sql` from ONE scan of the months, as rows
        month_index, account_id, day_index, event, users, active_users of three grouping sets:

        * (month, account, day):   day_index set, event NULL — ``active_users`` per local day;
        * (month, account):        both NULL — ``active_users`` in the month;
        * (month, account, event): event set, day_index NULL — ``users`` of that feature (every event).

        A used row always has an event and a time (rows without are bad rows, stopped or set aside), so
        NULL here only ever means "not grouped by". ``active_users`` counts the users of the active events
        (config engagement.active_events; every event when unset); a (month, account) or day row with
        ``active_users`` 0 had only other events and is dropped by the caller, as the separate queries
        never produce it.
        """
        active = ("user_id" if not active_events else
                  f"CASE WHEN event IN ({', '.join(literal(e) for e in active_events)}) THEN user_id END")
        return (f"SELECT month_index, account_id, day_index, event, count(DISTINCT user_id) AS users, "
                f"count(DISTINCT {active}) AS active_users FROM ({self._calendar(scan)}) AS c "
                "GROUP BY GROUPING SETS ((month_index, account_id, day_index), (month_index, account_id), "
                "(month_index, account_id, event)) "
                # the order the caller keeps them in, at almost no cost here (csreport.data.events.in_key_order)
                "ORDER BY month_index, account_id, day_index, event")

    def sessions_sql(self, scan: Scan, gap_us: int, user_key: str = USER_KEY) -> str:
        """SQL: kind, month_index, account_id, duration_us, n — kind 0: n sessions of that exact duration;
        kind 1 (duration_us NULL): n distinct users with a session. Every event counts.

        ``user_key`` partitions the rows by user: (account_id, user_id) itself, or an expression that
        :meth:`user_key_collisions_sql` found to be one-to-one with it over this scan (a hash sorts faster,
        and the window passes then carry it alone instead of the user_id text: one month at scale 20, 0.62 s
        against 0.71 s with user_id carried along). Either way the passes know a user as ``user_ref``.

        Per user, the instants in [lo − gap, hi) in time order (events at the same instant are one
        instant). An instant *opens* a session iff it has no previous instant or lies more than
        ``gap_us`` after it; it *closes* one iff the next instant is missing, more than ``gap_us``
        later, or in a later month (the as-of truncation at end(P)). Keeping only opening and
        closing rows, each session is an opening row paired with the closing row right after it
        (or the same row, when one instant does both): duration = close − open, month = the open's.
        A close whose previous kept row is not a lone opening row continues a session already
        counted (it crossed a month end) and is dropped, as are sessions that open before lo (the
        lead only provides previous instants). Two window passes, no per-session GROUP BY.
        """
        hashed = user_key != USER_KEY
        by_user = "user_ref" if hashed else "account_id, user_ref"  # user_ref: the key, or user_id in its account
        instants = (f"SELECT account_id, {user_key if hashed else 'user_id'} AS user_ref, instant "
                    f"FROM ({self._instants(scan, gap_us)}) AS u")
        user = f"PARTITION BY {by_user} ORDER BY instant"
        neighbours = (f"SELECT account_id, user_ref, instant, LAG(instant) OVER ({user}) AS prev, "
                      f"LEAD(instant) OVER ({user}) AS nxt FROM ({instants}) AS i")
        flags = (f"SELECT account_id, user_ref, instant, (prev IS NULL OR instant - prev > {gap_us}) AS opens, "
                 f"(nxt IS NULL OR nxt - instant > {gap_us} OR nxt >= {scan.month_end_sql('instant')}) AS closes "
                 f"FROM ({neighbours}) AS n")
        # at equal instants the opening row sorts first, so that a close always follows its open
        kept = f"PARTITION BY {by_user} ORDER BY instant, CASE WHEN opens THEN 0 ELSE 1 END"
        edges = (f"SELECT account_id, user_ref, instant, opens, closes, LAG(instant) OVER ({kept}) AS before, "
                 f"LAG(opens) OVER ({kept}) AS before_opens, LAG(closes) OVER ({kept}) AS before_closes "
                 f"FROM ({flags}) AS f WHERE opens OR closes")
        opened = "CASE WHEN opens THEN instant ELSE before END"
        sessions = (f"SELECT {scan.month_index_sql(opened)} AS month_index, account_id, user_ref, "
                    f"instant - ({opened}) AS duration_us FROM ({edges}) AS e "
                    f"WHERE closes AND (opens OR coalesce(before_opens AND NOT before_closes, false)) "
                    f"AND {opened} >= {scan.lo_us}")
        return (f"WITH sessions AS ({sessions}) "
                f"SELECT 0 AS kind, month_index, account_id, duration_us, count(*) AS n FROM sessions "
                f"GROUP BY month_index, account_id, duration_us "
                f"UNION ALL SELECT 1 AS kind, month_index, account_id, CAST(NULL AS BIGINT) AS duration_us, "
                f"count(DISTINCT user_ref) AS n FROM sessions GROUP BY month_index, account_id "
                # the order the caller keeps them in (csreport.data.events.in_key_order)
                f"ORDER BY kind, month_index, account_id, duration_us")

    def user_key_collisions_sql(self, scan: Scan, gap_us: int, user_key: str) -> str:
        """SQL: one row if two users (account_id, user_id) of the sessions scan share a ``user_key``, else none.

        None means partitioning by ``user_key`` puts exactly each user's rows together, so
        :meth:`sessions_sql` with it returns what it returns with the user columns themselves.
        """
        users = f"SELECT {user_key} AS user_key FROM ({self._instants(scan, gap_us)}) AS i GROUP BY account_id, user_id"
        return f"SELECT user_key FROM ({users}) AS u GROUP BY user_key HAVING count(*) > 1 LIMIT 1"


def _active(active_events: list[str] | None) -> str:
    """SQL WHERE clause keeping only the events that make a user active (config engagement.active_events)."""
    if not active_events:
        return ""
    return f"WHERE event IN ({', '.join(literal(e) for e in active_events)})"


def _utc_text(us: int, naive: bool = False) -> str:
    """Epoch microseconds as an ISO text literal (UTC offset spelled out unless ``naive``)."""
    from datetime import datetime, timedelta

    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    return text if naive else text + "+00:00"
