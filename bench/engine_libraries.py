"""How much would an engine-abstraction library cost on the DuckDB path? (the measurement behind csreport.data.dialect)

Not part of `make bench`: it needs ibis-framework[duckdb], sqlframe and sqlglot in a scratch
virtual environment (python -m venv /tmp/libs && /tmp/libs/bin/pip install duckdb pandas pyarrow
'ibis-framework[duckdb]' sqlframe sqlglot). It times, on 10^5 rows, the same two queries (a LAG window
for sessions, a distinct count per account and day) as raw DuckDB SQL, as SQLGlot transpilation, through
Ibis and through SQLFrame; the import cost of each library is measured with
`python -X importtime`-style fresh processes in import_cost() below.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import duckdb
import ibis
import numpy as np
import pandas as pd
import sqlglot
from sqlframe.duckdb import DuckDBSession
from sqlframe.duckdb import functions as F  # F: SQLFrame's (and PySpark's) own convention
from sqlframe.duckdb.window import Window

ROWS = 100_000
GAP_US = 1_800_000_000  # the 30-minute session gap
DAY_US = 86_400_000_000
SESSIONS = f"""WITH g AS (SELECT account_id, user_id, instant_us,
  CASE WHEN instant_us - LAG(instant_us) OVER (PARTITION BY account_id, user_id ORDER BY instant_us) <= {GAP_US}
       THEN 0 ELSE 1 END AS s
  FROM (SELECT DISTINCT account_id, user_id, instant_us FROM ev))
SELECT account_id, count(*) AS sessions FROM g WHERE s = 1 GROUP BY account_id"""
DAYS = f"SELECT account_id, instant_us // {DAY_US} AS day, count(DISTINCT user_id) AS users FROM ev GROUP BY ALL"
IMPORTS = ["import sqlglot", "import ibis; ibis.duckdb.connect()",
           "from sqlframe.duckdb import DuckDBSession; DuckDBSession()"]


def events(rows: int = ROWS) -> pd.DataFrame:
    """``rows`` random events of 200 accounts, 20 users each, 30 features over 30 days (seeded)."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({"account_id": rng.integers(0, 200, rows).astype(str),
                         "user_id": rng.integers(0, 20, rows).astype(str),
                         "event": rng.integers(0, 30, rows).astype(str),
                         "instant_us": rng.integers(0, DAY_US * 30, rows)})


def best(run: Callable[[], Any], repeats: int = 15) -> float:
    """Median seconds of ``run`` over ``repeats`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_duckdb(con: duckdb.DuckDBPyConnection) -> float:
    return best(lambda: (con.execute(SESSIONS).fetch_df(), con.execute(DAYS).fetch_df()))


def sqlglot_transpile() -> float:
    return best(lambda: (sqlglot.transpile(SESSIONS, read="duckdb", write="postgres"),
                         sqlglot.transpile(DAYS, read="duckdb", write="postgres")))


def ibis_queries(con: duckdb.DuckDBPyConnection) -> Callable[[], tuple[Any, Any]]:
    """A function that builds the two queries as Ibis expressions (anew each call, as a run would)."""
    t = ibis.duckdb.from_connection(con).table("ev")

    def build() -> tuple[Any, Any]:
        d = t.select("account_id", "user_id", "instant_us").distinct()
        w = ibis.window(group_by=[d.account_id, d.user_id], order_by=d.instant_us)
        g = d.mutate(s=ibis.ifelse((d.instant_us - d.instant_us.lag().over(w)) <= GAP_US, 0, 1))
        a = g.filter(g.s == 1).group_by("account_id").agg(sessions=ibis._.count())
        b = t.group_by([t.account_id, (t.instant_us // DAY_US).name("day")]).agg(users=t.user_id.nunique())
        return a, b

    return build


def sqlframe_queries(con: duckdb.DuckDBPyConnection) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame]]:
    """A function that builds and runs the two queries through SQLFrame."""
    session = DuckDBSession(conn=con)

    def run() -> tuple[pd.DataFrame, pd.DataFrame]:
        e = session.table("ev")
        d = e.select("account_id", "user_id", "instant_us").distinct()
        w = Window.partitionBy("account_id", "user_id").orderBy("instant_us")
        g = d.withColumn("s", F.when(F.col("instant_us") - F.lag("instant_us").over(w) <= GAP_US, 0).otherwise(1))
        a = g.filter(F.col("s") == 1).groupBy("account_id").agg(F.count("*").alias("sessions"))
        b = e.groupBy("account_id", F.floor(F.col("instant_us") / DAY_US).alias("day")).agg(
            F.countDistinct("user_id").alias("users"))
        return a.toPandas(), b.toPandas()

    return run


def import_cost(statement: str) -> float:
    """Median extra seconds of ``statement`` in a fresh process that already imported pandas, duckdb, pyarrow."""
    code = f"import time, pandas, duckdb, pyarrow; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(5))


def main() -> None:
    con = duckdb.connect()
    con.register("ev", events())
    print(f"raw duckdb SQL: {raw_duckdb(con) * 1000:.1f} ms")
    print(f"sqlglot transpile of both queries: {sqlglot_transpile() * 1000:.1f} ms")
    build = ibis_queries(con)
    print(f"ibis build+compile+execute: {best(lambda: [q.to_pandas() for q in build()]) * 1000:.1f} ms")
    print(f"ibis build+compile only: {best(lambda: [ibis.to_sql(q) for q in build()]) * 1000:.1f} ms")
    try:  # SQLFrame 4.10 generates SQL that DuckDB 2.0 rejects for this window query
        print(f"sqlframe build+execute: {best(sqlframe_queries(con)) * 1000:.1f} ms")
    except Exception as exc:
        print(f"sqlframe failed: {exc}")
    for statement in IMPORTS:
        print(f"import cost of {statement!r}: +{import_cost(statement) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
