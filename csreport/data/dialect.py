"""DuckDB SQL to another engine's dialect, with SQLGlot.

The queries of :mod:`csreport.data.queries` are written once, in DuckDB's
dialect. DuckDB runs them as written (SQLGlot is not even imported then: the
default path pays nothing); PostgreSQL and Spark get them transpiled here.

SQLGlot reads DuckDB's ``epoch_us`` as an unknown function and writes
``UNIX_MICROS`` for PostgreSQL, which has none, so this module maps it
explicitly: Spark has ``unix_micros``; PostgreSQL's ``EXTRACT(EPOCH ...)`` is
an exact numeric since version 14. Adding an engine (Snowflake, BigQuery) means
a dialect name here and, where SQLGlot lacks it, one such mapping.
"""
from __future__ import annotations

from functools import lru_cache

DIALECTS = {"postgresql": "postgres", "spark": "spark"}


@lru_cache(maxsize=256)
def transpile(sql: str, engine: str) -> str:
    """The DuckDB-dialect ``sql`` as ``engine`` ("duckdb", "postgresql", "spark") runs it."""
    if engine == "duckdb":
        return sql
    import sqlglot
    from sqlglot import exp

    def epoch_us(node: exp.Expression) -> exp.Expression:
        if not (isinstance(node, exp.Anonymous) and node.name.lower() == "epoch_us"):
            return node
        (argument,) = node.expressions
        if engine == "postgresql":
            seconds = exp.Extract(this=exp.var("EPOCH"), expression=argument)
            return exp.cast(exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000)), "BIGINT")
        return exp.Anonymous(this="unix_micros", expressions=[argument])

    tree = sqlglot.parse_one(sql, read="duckdb").transform(epoch_us)
    return tree.sql(dialect=DIALECTS[engine])
