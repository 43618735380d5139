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

from .catalog import keys_of_table, not_available

Value = float | int | dict | None


def pct(numerator: float, denominator: float) -> float | None:
    """100 · numerator / denominator, or None when the denominator is 0."""
    return None if denominator == 0 else 100.0 * float(numerator) / float(denominator)


def median(values: pd.Series) -> float | None:
    """Median (mean of the two middle values for an even count); None when empty."""
    values = values.dropna()
    return None if values.empty else float(values.median())


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
