"""How much would an engine-abstraction library cost on the DuckDB path? (the measurement behind csreport.data.dialect)

Not part of `make bench`: it needs ibis-framework[duckdb], sqlframe and sqlglot in a scratch
virtual environment (python -m venv /tmp/libs && /tmp/libs/bin/pip install duckdb pandas pyarrow
'ibis-framework[duckdb]' sqlframe sqlglot). It times, on 10^5 rows, the same two queries (a LAG window
for sessions, a distinct count per account and day) as raw DuckDB SQL, as SQLGlot transpilation, through
Ibis and through SQLFrame; the import cost of each library is measured with
`python -X importtime`-style fresh processes in import_cost() below.
"""
import statistics
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd

n = 100_000
rng = np.random.default_rng(0)
df = pd.DataFrame({"account_id": rng.integers(0, 200, n).astype(str), "user_id": rng.integers(0, 20, n).astype(str),
                   "event": rng.integers(0, 30, n).astype(str), "instant_us": rng.integers(0, 86400_000_000 * 30, n)})
con = duckdb.connect(); con.register("ev", df)
SQL = """WITH g AS (SELECT account_id, user_id, instant_us,
  CASE WHEN instant_us - LAG(instant_us) OVER (PARTITION BY account_id, user_id ORDER BY instant_us) <= 1800000000 THEN 0 ELSE 1 END AS s
  FROM (SELECT DISTINCT account_id, user_id, instant_us FROM ev))
SELECT account_id, count(*) AS sessions FROM g WHERE s = 1 GROUP BY account_id"""
DAYS = "SELECT account_id, instant_us // 86400000000 AS day, count(DISTINCT user_id) AS users FROM ev GROUP BY ALL"
def best(f, k=15):
    f(); return statistics.median([(lambda t: (f(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(k)])
raw = best(lambda: (con.execute(SQL).fetch_df(), con.execute(DAYS).fetch_df()))
print(f"raw duckdb SQL: {raw*1000:.1f} ms")
import sqlglot

pg = best(lambda: (sqlglot.transpile(SQL, read="duckdb", write="postgres"), sqlglot.transpile(DAYS, read="duckdb", write="postgres")))
print(f"sqlglot transpile of both queries: {pg*1000:.1f} ms")
import ibis

icon = ibis.duckdb.from_connection(con)
t = icon.table("ev")
def ibis_queries():
    """The two queries as Ibis expressions (built anew each call, as a run would)."""
    d = t.select("account_id", "user_id", "instant_us").distinct()
    w = ibis.window(group_by=[d.account_id, d.user_id], order_by=d.instant_us)
    g = d.mutate(s=ibis.ifelse((d.instant_us - d.instant_us.lag().over(w)) <= 1800000000, 0, 1))
    a = g.filter(g.s == 1).group_by("account_id").agg(sessions=ibis._.count())
    b = t.group_by([t.account_id, (t.instant_us // 86400000000).name("day")]).agg(users=t.user_id.nunique())
    return a, b
print(f"ibis build+compile+execute: {best(lambda: [q.to_pandas() for q in ibis_queries()])*1000:.1f} ms")
print(f"ibis build+compile only: {best(lambda: [ibis.to_sql(q) for q in ibis_queries()])*1000:.1f} ms")
from sqlframe.duckdb import DuckDBSession
from sqlframe.duckdb import functions as F
from sqlframe.duckdb.window import Window

s = DuckDBSession(conn=con)
def sf():
    e = s.table("ev")
    d = e.select("account_id", "user_id", "instant_us").distinct()
    w = Window.partitionBy("account_id", "user_id").orderBy("instant_us")
    g = d.withColumn("s", F.when(F.col("instant_us") - F.lag("instant_us").over(w) <= 1800000000, 0).otherwise(1))
    a = g.filter(F.col("s") == 1).groupBy("account_id").agg(F.count("*").alias("sessions"))
    b = e.groupBy("account_id", F.floor(F.col("instant_us") / 86400000000).alias("day")).agg(F.countDistinct("user_id").alias("users"))
    return a.toPandas(), b.toPandas()
try:  # SQLFrame 4.10 generates SQL that DuckDB 2.0 rejects for this window query
    print(f"sqlframe build+execute: {best(sf)*1000:.1f} ms")
except Exception as exc:
    print(f"sqlframe failed: {exc}")


def import_cost(statement: str) -> float:
    """Median extra seconds of ``statement`` in a fresh process that already imported pandas, duckdb, pyarrow."""
    code = f"import time, pandas, duckdb, pyarrow; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return statistics.median(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                  check=True).stdout) for _ in range(5))


for stmt in ["import sqlglot", "import ibis; ibis.duckdb.connect()",
             "from sqlframe.duckdb import DuckDBSession; DuckDBSession()"]:
    print(f"import cost of {stmt!r}: +{import_cost(stmt) * 1000:.0f} ms")
