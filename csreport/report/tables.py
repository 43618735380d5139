"""Any DataFrame as a report table: the report's number formats and alignment, text escaped.

For analysts' own tables in the notebook (``components.table(frame)``); the report's metric
tables have their own components. Cells are formatted here, in Python, so Jupyter, the HTML
and the PDF show the same text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from pandas.api import types

from ..metrics.catalog import BY_KEY, UNITS
from .formatting import fmt, in_unit
from .html import Fragment, env

MISSING = "–"
MAX_ROWS = 30
_TABLE = env.get_template("fragments/data_table.html.j2")


def table(frame: pd.DataFrame, title: str | None = None, units: Mapping[str, str] | None = None,
          max_rows: int = MAX_ROWS) -> Fragment:
    """Show ``frame`` as the report shows tables.

    A column's format comes from ``units`` ({column: unit}; units as in the metric catalog: ``pct``,
    ``currency``, ``count``, ``hours``, ``days``, ``score``, ``points``, ``ratio``), else from the
    metric of the same name (a column ``mrr_end`` is money headed 'MRR'), else from its
    type: whole numbers '1,234', other numbers '1,234.5' (two decimals when every value is below
    10), dates '2026-03-31', missing values '–'. Numbers are right-aligned, text left-aligned and
    escaped. A named or non-default index becomes the first column. Only the first ``max_rows``
    rows are shown, with a note of how many more there are.
    """
    units = dict(units or {})
    unknown = {column: unit for column, unit in units.items() if unit not in UNITS}
    if unknown:
        raise ValueError(f"unknown unit(s) {unknown}; units are {', '.join(UNITS)}")
    shown = _with_index(frame)
    hidden = max(0, len(shown) - max_rows)
    shown = shown.head(max_rows)
    columns: list[dict[str, Any]] = []
    cells: list[list[str]] = []
    for position, name in enumerate(shown.columns):
        series = shown.iloc[:, position]
        columns.append({"name": _header(name),
                        "numeric": types.is_numeric_dtype(series) and not types.is_bool_dtype(series)})
        formatter = _formatter(str(name), series, units.get(str(name)))
        cells.append([formatter(value) for value in series])
    rows = [[{"text": column_cells[i], "numeric": column["numeric"]}
             for column, column_cells in zip(columns, cells, strict=True)]
            for i in range(len(shown))]
    return Fragment(_TABLE.render(title=title, columns=columns, rows=rows, hidden=hidden))


def _with_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index (named, or not 0, 1, 2, ...) as its first column(s)."""
    index = frame.index
    meaningful = any(index.names) or not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1)
    return frame.reset_index() if meaningful else frame


def _header(name: Any) -> str:
    """A column header: a metric's label for a column named like it ('mrr_end' reads 'MRR'), else the
    name; a MultiIndex column ('mrr', 'SMB') reads 'mrr · SMB'."""
    if isinstance(name, tuple):
        return " · ".join(str(part) for part in name if str(part))
    return BY_KEY[name].label if isinstance(name, str) and name in BY_KEY else str(name)


def _formatter(name: str, series: pd.Series, unit: str | None) -> Any:
    """How to write each cell of a column (see :func:`table` for the rules)."""
    if types.is_bool_dtype(series):
        return lambda v: MISSING if pd.isna(v) else ("yes" if v else "no")
    if unit is None and name in BY_KEY and types.is_numeric_dtype(series):
        return lambda v: MISSING if _missing(v) else fmt(name, v)  # as the metric reads everywhere ('+25' NPS)
    if unit is not None:
        return lambda v: MISSING if _missing(v) else in_unit(unit, v)
    if types.is_integer_dtype(series):
        return lambda v: MISSING if _missing(v) else f"{v:,}"
    if types.is_numeric_dtype(series):
        small = bool((series.dropna().abs() < 10).all())
        pattern = "{:,.2f}" if small else "{:,.1f}"
        return lambda v: MISSING if _missing(v) else pattern.format(v)
    if types.is_datetime64_any_dtype(series):
        with_time = bool((series.dropna() != series.dropna().dt.normalize()).any())
        pattern = "%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d"
        return lambda v: MISSING if _missing(v) else v.strftime(pattern)
    return lambda v: MISSING if _missing(v) else str(v)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, (list, dict, tuple)) and bool(pd.isna(value)))
