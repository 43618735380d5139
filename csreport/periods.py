"""Calendar-month periods (SPEC §2).

A period P is a calendar month ``YYYY-MM``: from start(P), the first instant of
the month (inclusive), to end(P), the first instant of the next month
(exclusive), in the configured time zone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:  # pandas is imported where a timestamp is made: parsing a period stays light
    import pandas as pd

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")
# the months a report can be about: a period's computations reach years back (TTM, cohorts, the health
# backtest) and a month ahead (end(P)); within these bounds every calendar and timestamp library agrees
FIRST_YEAR, LAST_YEAR = 1900, 2199


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD_RE.match(str(text).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ConfigError(f"period {text!r} is not a month; write it as YYYY-MM, e.g. 2026-10")
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            raise ConfigError(f"period {text!r} is outside the supported range {FIRST_YEAR}-01 to {LAST_YEAR}-12")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def last_complete(cls, now: datetime | None = None, tz: str = "UTC") -> Period:
        """The most recent month that has fully ended in time zone ``tz`` (the one a monthly report covers).

        ``now``: an aware moment (default: the clock). At 03:00 UTC on 1 December it is still 30 November in
        Los Angeles: November is over in UTC, not there.
        """
        from zoneinfo import ZoneInfo

        local = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
        return cls(local.year, local.month).shift(-1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Period:
        index = self.year * 12 + (self.month - 1) + months
        return Period(index // 12, index % 12 + 1)

    @property
    def previous(self) -> Period:
        return self.shift(-1)

    def range_to(self, last: Period) -> list[Period]:
        """Every period from self to last, both included."""
        count = (last.year - self.year) * 12 + (last.month - self.month)
        return [self.shift(i) for i in range(count + 1)]

    @property
    def start_date(self) -> pd.Timestamp:
        """First day of the month as a naive date (for date columns)."""
        import pandas as pd

        return pd.Timestamp(self.year, self.month, 1)

    @property
    def end_date(self) -> pd.Timestamp:
        """First day of the next month as a naive date (exclusive bound)."""
        return self.shift(1).start_date

    def start(self, tz: str = "UTC") -> pd.Timestamp:
        """First instant of the month in time zone ``tz``."""
        return self.start_date.tz_localize(tz)

    def end(self, tz: str = "UTC") -> pd.Timestamp:
        """First instant of the next month in time zone ``tz`` (exclusive)."""
        return self.end_date.tz_localize(tz)

    def unfinished_on(self, moment: datetime, tz: str = "UTC") -> date | None:
        """The day of ``moment`` in ``tz`` if the month has not ended by then, else None.

        A report made then shows the month so far (or, before it begins, none of it): its counts are
        partial and its daily averages still divide by every day of the month (SPEC §3).
        """
        import pandas as pd

        local = pd.Timestamp(moment).tz_convert(tz)
        return local.date() if local < self.end(tz) else None

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days

    @property
    def label(self) -> str:
        """Human label, e.g. 'October 2026'."""
        return date(self.year, self.month, 1).strftime("%B %Y")
