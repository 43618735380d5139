"""Strict parsers from raw cells to typed columns.

Each parser returns ``(values, bad)``: the parsed column, and a mask of cells
that held something that could not be parsed. Empty cells become null and are
*not* bad here: whether a column may be empty is the validator's call. Nothing
is coerced: a cell either parses exactly or is reported.

The accepted text formats (README "Accepted formats"; surrounding spaces are ignored):

* whole number (``int``): digits with an optional sign, optionally ``.0`` (``9``, ``+9``, ``9.0``);
  no exponent (``1e1``), no thousands separator, at most 2^53 in size;
* number (``float``): decimal notation with an optional exponent (``1250.5``, ``.5``, ``1.2e3``), finite;
* timestamp: ISO 8601 ``YYYY-MM-DD``, optionally ``[T ]HH:MM[:SS[.ffffff]]`` and then an offset
  (``Z``, ``+02:00``, ``+0200``, ``+02``) — the very pattern the events are checked with in SQL;
* date: a timestamp as above at midnight (``2023-01-25``); ``2023/01/25`` or ``20230125`` are rejected;
* month: ``YYYY-MM`` with a two-digit month (``2026-09``, not ``2026-9``), or a first-of-month date.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from .queries import ISO_TIMESTAMP

_OFFSET = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_MONTH = r"^\d{4}-\d{2}$"
_INT = re.compile(r"^[+-]?\d+(?:\.0+)?$")
_FLOAT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_ISO = re.compile(ISO_TIMESTAMP)
# the largest whole number a float holds exactly; beyond it a score or count is not a whole number we can trust
MAX_EXACT_INT = 2**53
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def _text(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Cells as stripped strings, and the mask of non-empty ones."""
    text = raw.astype("string").str.strip()
    present = text.notna() & (text != "")
    return text.where(present), present.fillna(False).astype(bool)


def parse_str(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = raw.astype("string")
    present = text.notna() & (text.str.strip() != "")
    return text.where(present).astype(object).where(present, None), pd.Series(False, index=raw.index)


def _numbers(raw: pd.Series, grammar: re.Pattern[str]) -> tuple[pd.Series, pd.Series]:
    """Cells as float64 where the text follows ``grammar`` (numeric columns as they are), and the present mask."""
    if ptypes.is_bool_dtype(raw):
        return raw.astype(float), pd.Series(True, index=raw.index)
    if ptypes.is_numeric_dtype(raw):
        values = raw.astype("float64")
        return values, values.notna()
    text, present = _text(raw)
    well_formed = text.str.match(grammar.pattern).fillna(False).astype(bool)
    values = pd.to_numeric(text.where(well_formed), errors="coerce").astype("float64")
    return values, present


def parse_float(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values, present = _numbers(raw, _FLOAT)
    bad = present & (values.isna() | ~np.isfinite(values.fillna(0.0)))
    return values.where(~bad), bad


def parse_int(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    values, present = _numbers(raw, _INT)
    finite = np.isfinite(values.fillna(0.0))
    bad = present & (values.isna() | ~finite)
    bad = bad | (values.notna() & finite & ((values.abs() > MAX_EXACT_INT) | (values != values.round())))
    return values.where(~bad).round().astype("Int64"), bad


def parse_bool(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    if ptypes.is_bool_dtype(raw):
        return raw.astype("boolean"), pd.Series(False, index=raw.index)
    text, present = _text(raw)
    lower = text.str.lower()
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values[lower.isin(_TRUE).fillna(False).astype(bool)] = True
    values[lower.isin(_FALSE).fillna(False).astype(bool)] = False
    bad = present & values.isna()
    return values, bad


def _localize(stamps: pd.Series, tz: str) -> pd.Series:
    if stamps.dt.tz is None:
        # Naive wall-clock times are in the configured zone. In the repeated hour of a
        # DST fall-back we take the first occurrence; a skipped hour shifts forward.
        return stamps.dt.tz_localize(tz, ambiguous=np.ones(len(stamps), dtype=bool), nonexistent="shift_forward")
    return stamps.dt.tz_convert(tz)


def parse_timestamp(raw: pd.Series, tz: str) -> tuple[pd.Series, pd.Series]:
    """Timestamps in zone ``tz``: an explicit offset is honoured, a naive time is read as ``tz``."""
    out = pd.Series(pd.NaT, index=raw.index, dtype=f"datetime64[us, {tz}]")
    if ptypes.is_datetime64_any_dtype(raw):
        return _localize(raw.dt.as_unit("us"), tz), pd.Series(False, index=raw.index)
    text, present = _text(raw)
    text = text.where(text.str.match(_ISO.pattern).fillna(False).astype(bool))  # anything else is bad
    # an offset follows a time of day: in a bare date '2026-03-01' the '-01' is the day
    has_offset = (text.str.len() > 10) & text.str.contains(_OFFSET, regex=True)
    has_offset = has_offset.fillna(False).astype(bool) & present
    naive = present & ~has_offset & text.notna()
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
        out[has_offset] = aware.dt.tz_convert(tz).dt.as_unit("us")
    if naive.any():
        plain = pd.to_datetime(text[naive], format="ISO8601", errors="coerce")
        ok = plain.notna()
        out[naive[naive].index[ok.to_numpy()]] = _localize(plain[ok].dt.as_unit("us"), tz)
    bad = present & out.isna()
    return out, bad


def parse_date(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Calendar dates (naive midnight). A cell with a time of day other than 00:00 is bad."""
    if ptypes.is_datetime64_any_dtype(raw):
        stamps = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
        present = stamps.notna()
    elif raw.dtype == object and raw.map(lambda v: hasattr(v, "year") and not isinstance(v, str)).any():
        stamps = pd.to_datetime(raw, errors="coerce")  # python date objects from Parquet/DuckDB
        present = raw.notna()
    else:
        text, present = _text(raw)
        text = text.where(text.str.match(_ISO.pattern).fillna(False).astype(bool))  # anything else is bad
        stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)
    stamps = stamps.astype("datetime64[us]")
    bad = present & (stamps.isna() | (stamps.notna() & (stamps != stamps.dt.normalize())))
    return stamps.where(~bad), bad


def parse_month(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Months as 'YYYY-MM' strings, from 'YYYY-MM' or a first-of-month date."""
    if ptypes.is_datetime64_any_dtype(raw) or (raw.dtype == object and raw.map(
        lambda v: hasattr(v, "year") and not isinstance(v, str)
    ).any()):
        stamps, bad = parse_date(raw)
    else:
        text, present = _text(raw)
        is_month = text.str.match(_MONTH).fillna(False).astype(bool)
        stamps = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
        stamps[is_month] = pd.to_datetime(text[is_month] + "-01", format="%Y-%m-%d", errors="coerce")
        dates, bad_dates = parse_date(text.where(present & ~is_month))
        stamps = stamps.fillna(dates)
        bad = (present & stamps.isna()) | bad_dates
    bad = bad | (stamps.notna() & (stamps.dt.day != 1))
    # Arrow strings: equality and ordering on 'YYYY-MM' are ~7x faster than on object arrays
    months = stamps.dt.strftime("%Y-%m").astype("string[pyarrow]")
    return months.where(~bad & stamps.notna()), bad


def parse_column(raw: pd.Series, kind: str, tz: str) -> tuple[pd.Series, pd.Series]:
    if kind == "timestamp":
        return parse_timestamp(raw, tz)
    return {
        "str": parse_str,
        "float": parse_float,
        "int": parse_int,
        "bool": parse_bool,
        "date": parse_date,
        "month": parse_month,
    }[kind](raw)
