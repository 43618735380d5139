"""Data loading and validation: files or a DuckDB database in, validated pandas tables out.

The ``events`` table is the exception: it stays in DuckDB and only per-account,
per-day aggregates ever reach pandas (see :mod:`csreport.data.events`).
"""
from .load import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
