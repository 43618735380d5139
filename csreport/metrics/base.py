"""Shared building blocks of the metric functions: null-with-a-reason, rates, medians.

SPEC §2 conventions: a count with no rows is 0; a rate with a non-zero
denominator is a number (0.0 included); only a zero denominator or no data
gives null, and every null carries a reason in ``notes``.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .catalog import keys_of_table, not_available

Value = float | int | dict | None


def pct(numerator: float, denominator: float) -> float | None:
    """100 · numerator / denominator, or None when the denominator is 0."""
    return None if denominator == 0 else 100.0 * float(numerator) / float(denominator)


def median(values: pd.Series) -> float | None:
    """Median (mean of the two middle values for an even count); None when empty."""
    values = values.dropna()
    return None if values.empty else float(values.median())


def in_set(ids: pd.Series, members: Iterable[str]) -> np.ndarray:
    """Per id of ``ids``: whether it is one of ``members`` (a bool array in the order of ``ids``; a missing id
    is in no set). Same answer as ``ids.isin(members)``.

    Why not ``Series.isin``: on pandas 3's Arrow-backed strings it turns every member into a pyarrow
    scalar on each call (~1 µs each, thousands of account ids, dozens of calls per report); here the
    members become one Arrow array and the lookup runs in Arrow's hash table.
    """
    column = _strings(ids)
    if column is None:
        return np.asarray(ids.isin(list(members)), dtype=bool)
    wanted = pa.array(list(members), type=column.type)
    return np.asarray(pc.is_in(column, value_set=wanted).to_numpy(zero_copy_only=False), dtype=bool)


def positions_in(ids: pd.Series, values: list[str]) -> np.ndarray:
    """Per id of ``ids``: its position in ``values``, or -1 when absent or missing (an int array in the order of
    ``ids``). Vectorised in Arrow for the reason given at :func:`in_set`."""
    column = _strings(ids)
    if column is None or not values:
        return pd.Index(values, dtype=object).get_indexer(ids.astype(object)).astype(np.int64)
    found = pc.index_in(column, value_set=pa.array(values, type=column.type))
    return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _strings(ids: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """``ids`` as an Arrow string array, or None when they are not all strings (no row, every id missing,
    or another type): the callers then take pandas' own way, which is fast enough there."""
    if len(ids) == 0 or not (pd.api.types.is_string_dtype(ids.dtype) or ids.dtype == object):
        return None
    try:
        column = pa.array(ids, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # an object column holding something other than text
        return None
    return column if pa.types.is_string(column.type) or pa.types.is_large_string(column.type) else None


def hours(delta: pd.Series) -> pd.Series:
    """Timedeltas as float hours."""
    return delta.dt.total_seconds() / 3600.0


def _plain(value: Any) -> Value:
    """numpy scalars to int/float; a NaN or infinity here is a bug, never a result."""
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"metric value {value} is not finite; a metric that cannot be computed must be None")
    return value


@dataclass
class MetricSet:
    """Metric values by key, and the reason behind every null."""

    values: dict[str, Value] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def put(self, key: str, value: Any, reason_if_null: str = "") -> None:
        """Store a value; a None stores null together with its reason."""
        value = _plain(value)
        self.values[key] = value
        if value is None:
            self.notes[key] = reason_if_null or "not computable"

    def unavailable(self, keys: Iterable[str], reason: str) -> None:
        """Store every key as null with the same reason."""
        for key in keys:
            self.put(key, None, reason)

    @classmethod
    def table_missing(cls, table: str) -> MetricSet:
        """Every metric of ``table`` (the catalog's keys of that table) as "not available": the one answer
        of every metric module when the data source lacks the table its metrics come from."""
        out = cls()
        out.unavailable(keys_of_table(table), not_available(table))
        return out

    def update(self, other: MetricSet) -> None:
        self.values.update(other.values)
        self.notes.update(other.notes)
