"""Data loading and validation: files, a DuckDB database or PostgreSQL in, validated pandas tables out.

The ``events`` table is the exception: it stays in its engine (DuckDB, PostgreSQL or
Spark) and only per-account aggregates ever reach pandas (see :mod:`csreport.data.events`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .load import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]


def __getattr__(name: str):
    # imported on first use, so that csreport.config can import csreport.data.schema without a cycle
    if name in __all__:
        from . import load

        return getattr(load, name)
    raise AttributeError(name)
