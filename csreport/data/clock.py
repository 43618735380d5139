"""Calendar logic in Python, integer arithmetic in the engines.

Every engine (DuckDB, PostgreSQL, Spark) handles time zones, DST and casts a
little differently. So the engines never see a time zone: they compute the
epoch microseconds of each event (a true instant, sessions pinned to UTC) and
compare or shift it by integer constants that Python works out here with
:mod:`zoneinfo` for the months being scanned:

* month boundaries: start(P) of each month as epoch microseconds, so "the month
  of an event" is a CASE over a handful of integers;
* the UTC offset of the zone, piecewise constant between DST transitions, so
  local wall-clock microseconds = instant + offset(instant) and the local day is
  an integer division by 86 400 000 000;
* for naive timestamps (wall-clock time of the zone) the inverse map
  wall -> instant, with the same rule as DuckDB's ICU: the repeated hour of a
  fall-back night is read as its first occurrence, a wall time that the
  spring-forward night skips is read with the offset before the change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..periods import Period

US = 1_000_000
DAY_US = 86_400 * US
MINUTE_US = 60 * US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01T00:00Z of an aware datetime (exact integer arithmetic)."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def month_start_us(period: Period, tz: str) -> int:
    """start(P) in zone ``tz`` as epoch microseconds."""
    return epoch_us(datetime(period.year, period.month, 1, tzinfo=ZoneInfo(tz)))


def wall_us(period: Period) -> int:
    """The wall-clock time 00:00 on the first day of P, counted as if it were UTC (local day arithmetic)."""
    return epoch_us(datetime(period.year, period.month, 1, tzinfo=UTC))


def _offset_us(zone: ZoneInfo, at_us: int) -> int:
    moment = (_EPOCH + timedelta(microseconds=at_us)).astimezone(zone)
    offset = moment.utcoffset()
    if offset is None:  # an aware datetime always has one; None would be a bug in the zone data
        raise ValueError(f"time zone {zone.key!r} gives no UTC offset at {moment.isoformat()}")
    return offset // timedelta(microseconds=1)


def utc_offsets(tz: str, lo_us: int, hi_us: int) -> list[tuple[int, int]]:
    """The zone's UTC offset over [lo_us, hi_us) as [(from_us, offset_us), ...], first from = lo_us.

    Transitions are found by sampling every 6 hours and bisecting to the second
    (tzdata changes offsets on whole seconds, and never twice within 6 hours).
    """
    zone = ZoneInfo(tz)
    pieces = [(lo_us, _offset_us(zone, lo_us))]
    step = 6 * 3600 * US
    at = lo_us
    while at < hi_us:
        nxt = min(at + step, hi_us)
        if _offset_us(zone, nxt) != pieces[-1][1]:
            low, high = at // US, -(-nxt // US)  # seconds: offset(low) is the old one, offset(high) the new one
            while high - low > 1:
                mid = (low + high) // 2
                if _offset_us(zone, mid * US) == pieces[-1][1]:
                    low = mid
                else:
                    high = mid
            pieces.append((high * US, _offset_us(zone, high * US)))
        at = nxt
    return pieces


def _piecewise(value: str, bounds: list[int], results: list[int]) -> str:
    """SQL: results[0] if value < bounds[0], results[1] if value < bounds[1], ..., else results[-1].

    There is one result more than bounds: the last is the ELSE.
    """
    if len(results) == 1:
        return str(results[0])
    # strict: a bound without its result (or one too many) would shift every later piece
    whens = " ".join(f"WHEN {value} < {b} THEN {r}" for b, r in zip(bounds, results[:-1], strict=True))
    return f"CASE {whens} ELSE {results[-1]} END"


@dataclass(frozen=True)
class Scan:
    """The integer constants of one events scan over months first..last in zone ``tz``.

    ``lo_us``/``hi_us`` are start(first) and end(last); ``lead_us`` is how far
    before start(first) the scan reads so that sessions see their previous
    instants (the session gap).
    """

    tz: str
    months: tuple[Period, ...]
    starts_us: tuple[int, ...]  # start(P) of every month, then end(last)
    offsets: tuple[tuple[int, int], ...]  # (from_us, offset_us), first from = scan start
    lead_us: int = 0

    @classmethod
    def of(cls, first: Period, last: Period, tz: str, lead_us: int = 0) -> Scan:
        months = tuple(first.range_to(last))
        starts = tuple(month_start_us(p, tz) for p in months) + (month_start_us(last.shift(1), tz),)
        # a day before and after: naive wall-clock times are mapped to instants with these offsets too
        offsets = tuple(utc_offsets(tz, starts[0] - lead_us - DAY_US, starts[-1] + DAY_US))
        return cls(tz, months, starts, offsets, lead_us)

    @property
    def lo_us(self) -> int:
        return self.starts_us[0]

    @property
    def hi_us(self) -> int:
        return self.starts_us[-1]

    @property
    def base_wall_us(self) -> int:
        """Wall-clock 00:00 of the first day of the scan, counted as UTC: local day 0."""
        return wall_us(self.months[0])

    def month_index_sql(self, instant: str) -> str:
        """SQL: index into ``months`` of an instant within [lo_us, hi_us)."""
        return _piecewise(instant, list(self.starts_us[1:-1]), list(range(len(self.months))))

    def month_end_sql(self, instant: str) -> str:
        """SQL: end(P) as epoch microseconds for the month P of an instant within [lo_us, hi_us);
        lo_us for an instant of the lead before the scan."""
        return _piecewise(instant, list(self.starts_us[:-1]), list(self.starts_us))

    def local_sql(self, instant: str) -> str:
        """SQL: local wall-clock microseconds (counted as UTC) of an instant: instant + offset(instant)."""
        offset = _piecewise(instant, [t for t, _ in self.offsets[1:]], [o for _, o in self.offsets])
        return instant if offset == "0" else f"({instant} + {offset})"

    def day_index_sql(self, instant: str) -> str:
        """SQL: local calendar day of an instant >= lo_us, counted from the first day of the scan (0, 1, ...)."""
        # the operand is never negative here, so integer division is floor division on every engine
        return f"(({self.local_sql(instant)} - {self.base_wall_us}) // {DAY_US})"

    def instant_of_wall_sql(self, wall: str) -> str:
        """SQL: the instant of a naive wall-clock time (microseconds counted as UTC) in the zone.

        Before a transition at instant T from offset o0 to o1, wall times below
        T + max(o0, o1) keep o0: the repeated hour is its first occurrence, a
        skipped hour is read with the offset before the change (as DuckDB/ICU do).
        """
        bounds = [t + max(self.offsets[i][1], o) for i, (t, o) in enumerate(self.offsets[1:])]
        offset = _piecewise(wall, bounds, [o for _, o in self.offsets])
        return wall if offset == "0" else f"({wall} - {offset})"
