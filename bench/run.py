"""`make bench`: wall time and peak memory of csreport on demo data (not part of `make test`).

1. `csreport metrics` on demo data at scale 1 and 10 (~5·10^6 and ~5·10^7 events),
   each in a fresh process; peak RSS from the child's rusage.
2. The engagement metrics through csreport (DuckDB aggregates + metric functions)
   against a straightforward pandas implementation of the same SPEC formulas on the
   same month, checking that both give the same numbers.
3. The added cost of sessions at scale 10: the sessions query timed alone in the engine, against
   the whole `csreport metrics` run (target: metrics no more than 30% slower than without sessions).
4. A month over 10^8 events (demo scale 21, ~1.0·10^8 events): `csreport metrics` on DuckDB (time,
   peak RSS) and with `--engine spark` in local mode (time), both on this machine's cores, plus the
   per-row costs of the Spark scans that the 10^10-event cluster plan in BENCHMARKS.md is sized from.
5. Account reviews (HTML + PDF) for N accounts (default 50): `csreport batch --by account` against a
   loop of one full run-style execution per account (a fresh process and kernel that loads the data,
   computes the account and renders it, as `csreport run` does for the company), on the same data;
   and a second, smaller batch to split the batch's time into setup and per-report cost, for the
   projection to every demo account.

Usage: python bench/run.py [--scales 1,10] [--big 21] [--skip-report] [--skip-big] [--skip-batch]
                           [--only-batch] [--batch-accounts 50] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
BIN = Path(sys.executable).parent


def demo(scale: float, end: str) -> Path:
    folder = DATA / f"scale{scale:g}-{end}"
    if not (folder / "events.parquet").exists():
        print(f"generating demo data at scale {scale:g} ...", flush=True)
        subprocess.run([BIN / "csreport", "demo", "--out", folder, "--scale", str(scale), "--end", end], check=True)
    return folder


_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
         "print(u.ru_utime + u.ru_stime, u.ru_maxrss, file=sys.stderr); sys.exit(r.returncode)")
CPU_SECONDS: list[float] = []  # CPU seconds (all threads) of each timed() command, in order: robust to a busy machine


def timed(cmd: list) -> tuple[float, float, str]:
    """Run a command in a fresh process; return (seconds, peak RSS in MB, stdout).

    A tiny intermediate Python process runs the command as its only child, so
    its RUSAGE_CHILDREN peak is that command's alone.
    """
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK, *[str(c) for c in cmd]], check=True,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    cpu, peak_kb = done.stderr.strip().splitlines()[-1].split()
    CPU_SECONDS.append(float(cpu))
    return seconds, int(peak_kb) / 1024, done.stdout


def pandas_engagement(events_path: Path, period: str, customers: set[str], pushdown: bool) -> dict:
    """The SPEC engagement formulas written plainly in pandas.

    pushdown=False is the straightforward version (read the events table, filter the month);
    pushdown=True lets pyarrow read only the month's row groups, a pandas user's best case.
    """
    start = pd.Timestamp(f"{period}-01", tz="UTC")
    end = start + pd.offsets.MonthBegin(1)
    if pushdown:
        in_month = (ds.field("occurred_at") >= start) & (ds.field("occurred_at") < end)
        table = ds.dataset(events_path).to_table(filter=in_month)
        events = table.to_pandas()
    else:
        events = pd.read_parquet(events_path)
        events = events[(events["occurred_at"] >= start) & (events["occurred_at"] < end)].copy()
    for col in ("account_id", "user_id", "event"):
        events[col] = events[col].astype(str)
    events["user"] = events["account_id"] + "/" + events["user_id"]
    events["day"] = events["occurred_at"].dt.date
    mau = events["user"].nunique()
    days = (end - start).days
    dau = events.groupby("day")["user"].nunique().sum() / days
    engaged = set(events["account_id"]) & customers
    per_feature = events[events["account_id"].isin(customers)].groupby("event")["account_id"].nunique()
    return {"mau": mau, "dau_avg": dau, "stickiness_pct": 100 * dau / mau,
            "active_accounts_pct": 100 * len(engaged) / len(customers),
            "feature_adoption_pct": {k: 100 * v / len(engaged) for k, v in per_feature.items()}}


def csreport_engagement(folder: Path, period: str) -> tuple[dict, set[str]]:
    from csreport.config import Config
    from csreport.data import load_dataset
    from csreport.metrics.engagement import engagement_metrics
    from csreport.metrics.revenue import active_accounts, mrr_matrix
    from csreport.periods import Period

    p = Period.parse(period)
    dataset = load_dataset(folder, Config(), quiet=True)
    assert dataset.events is not None, f"{folder} has no events table"
    customers = active_accounts(mrr_matrix(dataset.revenue), p)
    start = time.perf_counter()
    month = dataset.events.aggregates(p, p, sessions=False).for_month(p)  # the same work as the pandas version
    values = engagement_metrics(month, customers, p.days).values
    return values, customers, time.perf_counter() - start


FLOOR = """
import sys, time, tempfile, pathlib
import nbformat, papermill as pm, weasyprint
from nbconvert import HTMLExporter
tmp = pathlib.Path(tempfile.mkdtemp())
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                                     nbformat.v4.new_code_cell("print(x)")])
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, tmp / "t.ipynb")
pm.execute_notebook(str(tmp / "t.ipynb"), str(tmp / "o.ipynb"), parameters={"x": 2}, progress_bar=False)
html, _ = HTMLExporter().from_filename(str(tmp / "o.ipynb"))
(tmp / "o.html").write_text(html)
weasyprint.HTML(string="<h1>One page</h1><p>floor</p>").write_pdf(str(tmp / "o.pdf"))
"""


def report_benchmark(folder: Path, period: str, repeats: int = 3) -> tuple[float, float]:
    """Best of N: full `csreport run` (HTML + PDF) and the floor (trivial papermill + nbconvert + 1-page PDF)."""
    out = DATA / "bench-reports"
    ours = min(timed([BIN / "csreport", "run", "--data", folder, "--period", period, "--out", out,
                      "--history", out / "bench-history.sqlite", "--quiet"])[0] for _ in range(repeats))
    floor = min(timed([sys.executable, "-c", FLOOR])[0] for _ in range(repeats))
    return ours, floor


def sessions_cost(folder: Path, period: str, repeats: int = 3) -> tuple[float, float]:
    """(best CPU seconds of the sessions query alone, best CPU seconds of `csreport metrics`) on one month.

    CPU seconds (all threads), not wall time: the figures then hold on a machine shared with other work.
    """
    from csreport.config import Config
    from csreport.data import load_dataset
    from csreport.data.clock import MINUTE_US, Scan
    from csreport.periods import Period

    p = Period.parse(period)
    events = load_dataset(folder, Config(), quiet=True).events
    gap = 30 * MINUTE_US
    sql = events.table.sessions_sql(Scan.of(p, p, "UTC", lead_us=gap), gap)
    alone = []
    for _ in range(repeats):
        start = time.process_time()
        events.engine.rows(sql)
        alone.append(time.process_time() - start)
    whole = []
    for _ in range(repeats):
        timed([BIN / "csreport", "metrics", "--data", folder, "--period", period, "--quiet"])
        whole.append(CPU_SECONDS[-1])
    return min(alone), min(whole)


SPARK_CONFIG = """engine: spark
spark:
  master: local[{cores}]
  conf: {{spark.driver.memory: 6g, spark.sql.shuffle.partitions: {partitions}}}
"""


def big_month(scale: float, end: str) -> None:
    """A month over 10^8 events on DuckDB and on Spark local; Spark's per-row costs for the cluster plan."""
    folder = demo(scale, end)
    events = ds.dataset(folder / "events.parquet").count_rows()
    month = ds.dataset(folder / "events.parquet").count_rows(
        filter=(ds.field("occurred_at") >= pd.Timestamp(f"{end}-01", tz="UTC")))
    seconds, peak, _ = timed([BIN / "csreport", "metrics", "--data", folder, "--period", end, "--quiet"])
    print(f"10^8: {events:,} events ({month:,} in {end}); DuckDB `csreport metrics` {seconds:.1f} s "
          f"({CPU_SECONDS[-1]:.1f} CPU s), peak RSS {peak:.0f} MB", flush=True)
    config_path = DATA / "spark-bench.yaml"
    config_path.write_text(SPARK_CONFIG.format(cores=os.cpu_count(), partitions=4 * (os.cpu_count() or 1)))
    spark_s, spark_peak, _ = timed([BIN / "csreport", "metrics", "--data", folder, "--period", end, "--quiet",
                                   "--config", config_path])
    print(f"10^8: Spark local[{os.cpu_count()}] `csreport metrics` {spark_s:.1f} s (driver process RSS "
          f"{spark_peak:.0f} MB, JVM not included)", flush=True)
    # per-row costs, in-process, session already up: the full validation scans and the month's aggregates
    from csreport.config import Config
    from csreport.data.clock import MINUTE_US, Scan
    from csreport.data.events import EventStore
    from csreport.data.spark import SparkEngine
    from csreport.periods import Period

    settings = Config(engine="spark", spark={"master": f"local[{os.cpu_count()}]", "conf": {
        "spark.driver.memory": "6g", "spark.sql.shuffle.partitions": 4 * (os.cpu_count() or 1)}})
    store = EventStore(SparkEngine(settings, folder / "events.parquet"), settings,
                       pd.read_csv(folder / "accounts.csv")["account_id"], "bench")
    start = time.perf_counter()
    store.validate(None)
    scan_s = time.perf_counter() - start
    p = Period.parse(end)
    scan = Scan.of(p, p, "UTC", lead_us=30 * MINUTE_US)
    timings = {}
    for name, sql in (("days", store.table.account_days_sql(scan, None)),
                      ("months", store.table.account_months_sql(scan, None)),
                      ("features", store.table.account_features_sql(scan)),
                      ("sessions", store.table.sessions_sql(scan, 30 * MINUTE_US))):
        start = time.perf_counter()
        rows = len(store.engine.rows(sql))
        timings[name] = (time.perf_counter() - start, rows)
    print(f"10^8 Spark per-row: validation (2 full scans) {scan_s:.1f} s = {1e9 * scan_s / events:.0f} ns/event; "
          + "; ".join(f"{k} {s:.1f} s ({rows:,} rows back) = {1e9 * s / month:.0f} ns/month-event"
                      for k, (s, rows) in timings.items()), flush=True)


# one account review the way a loop without `batch` makes it: a new process, a new kernel that loads the
# data and computes the account (model_path None), then HTML and PDF, exactly as `csreport run` renders
SINGLE_ACCOUNT = """
import sys, tempfile, pathlib
from importlib import resources
from csreport.config import Config
from csreport.periods import Period
from csreport.report.execute import execute_notebook
from csreport.report.render import report_meta, to_html, to_pdf
data, period, account, out = sys.argv[1:5]
folder = pathlib.Path(tempfile.mkdtemp(dir=out))
with resources.as_file(resources.files("csreport") / "notebooks" / "account_review.ipynb") as notebook:
    executed = folder / "account_review.ipynb"
    execute_notebook(notebook, executed, {"period": period, "data_source": data, "config_path": None,
                                          "account_id": account, "model_path": None}, progress=False)
html = to_html(executed, report_meta(None, Config(), Period.parse(period)))
(folder / "review.html").write_text(html)
to_pdf(html, folder / "review.pdf", folder)
"""


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def batch_benchmark(folder: Path, period: str, accounts: int, workers: int | None) -> dict:
    """`csreport batch --by account` for N accounts vs a loop of N run-style executions; a small batch for the split."""
    import shutil

    ids = [line.split(",", 1)[0] for line in (folder / "accounts.csv").read_text().splitlines()[1:accounts + 1]]
    out = DATA / "bench-batch"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    extra = ["--workers", str(workers)] if workers else []

    def batch(n: int) -> tuple[float, float]:
        seconds = timed([BIN / "csreport", "batch", "--data", folder, "--period", period, "--by", "account",
                         "--only", ",".join(ids[:n]), "--out", out / f"batch-{n}", "--quiet", *extra])[0]
        return seconds, CPU_SECONDS[-1]

    load_before = load_average()
    big, big_cpu = batch(accounts)
    small_n = max(1, accounts // 5)
    small, small_cpu = batch(small_n)
    load_batch = load_average()
    loop_out = out / "loop"
    loop_out.mkdir()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for account in ids:
        subprocess.run([sys.executable, "-c", SINGLE_ACCOUNT, str(folder), period, account, str(loop_out)],
                       check=True, capture_output=True)
    loop = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    loop_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    per_report = (big - small) / (accounts - small_n)
    per_report_cpu = (big_cpu - small_cpu) / (accounts - small_n)
    setup = big - accounts * per_report
    total = len((folder / "accounts.csv").read_text().splitlines()) - 1
    return {"accounts": accounts, "batch": big, "batch_cpu": big_cpu, "small_n": small_n, "small": small,
            "loop": loop, "loop_cpu": loop_cpu, "speedup": loop / big, "speedup_cpu": loop_cpu / big_cpu,
            "per_report": per_report, "per_report_cpu": per_report_cpu, "setup": setup, "all_accounts": total,
            "projected": setup + total * per_report, "loop_projected": loop / accounts * total,
            "load_before": load_before, "load_batch": load_batch, "load_after": load_average(),
            "workers": workers or os.cpu_count()}


def print_batch(r: dict) -> None:
    print(f"\naccount reviews (HTML + PDF), {r['accounts']} accounts, {r['workers']} workers: "
          f"csreport batch {r['batch']:.1f} s wall, {r['batch_cpu']:.0f} CPU s; loop of run-style executions "
          f"{r['loop']:.1f} s wall ({r['loop'] / r['accounts']:.1f} s each), {r['loop_cpu']:.0f} CPU s; "
          f"speed-up {r['speedup']:.1f}x wall, {r['speedup_cpu']:.1f}x CPU")
    print(f"batch split (from {r['small_n']} accounts in {r['small']:.1f} s): setup {r['setup']:.1f} s + "
          f"{r['per_report']:.2f} s ({r['per_report_cpu']:.2f} CPU s) per report; projected for all "
          f"{r['all_accounts']:,} accounts: {r['projected'] / 60:.1f} min "
          f"(the loop: {r['loop_projected'] / 3600:.1f} h)")
    print(f"load average (1/5/15 min) before: {r['load_before']}; after the batches: {r['load_batch']}; "
          f"after the loop: {r['load_after']}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--end", default="2026-10", help="last month of the demo data")
    parser.add_argument("--skip-report", action="store_true", help="only the metrics benchmarks")
    parser.add_argument("--big", type=float, default=21.0, help="demo scale of the 10^8-event month")
    parser.add_argument("--skip-big", action="store_true", help="no 10^8-event month")
    parser.add_argument("--skip-batch", action="store_true", help="no `csreport batch` benchmark")
    parser.add_argument("--only-batch", action="store_true", help="only the `csreport batch` benchmark")
    parser.add_argument("--batch-accounts", type=int, default=50, help="account reviews to compare (default 50)")
    parser.add_argument("--workers", type=int, help="batch workers (default: one per core)")
    args = parser.parse_args()
    period = args.end
    rows = []
    if args.only_batch:
        print_batch(batch_benchmark(demo(1.0, args.end), period, args.batch_accounts, args.workers))
        return
    for scale in [float(s) for s in args.scales.split(",")]:
        folder = demo(scale, args.end)
        events = ds.dataset(folder / "events.parquet").count_rows()
        seconds, peak, out = timed([BIN / "csreport", "metrics", "--data", folder, "--period", period, "--quiet"])
        json.loads(out)
        values, customers, ours = csreport_engagement(folder, period)
        start = time.perf_counter()
        baseline = pandas_engagement(folder / "events.parquet", period, customers, pushdown=False)
        theirs = time.perf_counter() - start
        start = time.perf_counter()
        pandas_engagement(folder / "events.parquet", period, customers, pushdown=True)
        pushed = time.perf_counter() - start
        for key in ("mau", "dau_avg", "stickiness_pct", "active_accounts_pct"):
            same = abs(values[key] - baseline[key]) < 1e-9 * max(1, abs(baseline[key]))
            assert same, (key, values[key], baseline[key])
        assert values["feature_adoption_pct"].keys() == baseline["feature_adoption_pct"].keys()
        rows.append((scale, events, seconds, peak, ours, theirs, pushed))
        print(f"scale {scale:g}: {events:,} events; csreport metrics {seconds:.1f} s, peak RSS {peak:.0f} MB; "
              f"engagement: csreport {ours:.2f} s vs pandas {theirs:.2f} s ({theirs / ours:.1f}x), "
              f"pandas with Parquet pushdown {pushed:.2f} s ({pushed / ours:.1f}x); values equal", flush=True)

    print("\n| scale | events | `csreport metrics` wall | peak RSS | engagement: csreport | pandas | speed-up "
          "| pandas + pushdown | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    for scale, events, seconds, peak, ours, theirs, pushed in rows:
        print(f"| {scale:g} | {events:,} | {seconds:.1f} s | {peak:.0f} MB | {ours:.2f} s | {theirs:.2f} s "
              f"| {theirs / ours:.1f}x | {pushed:.2f} s | {pushed / ours:.1f}x |")
    if 10.0 in [float(s) for s in args.scales.split(",")]:
        alone, whole = sessions_cost(demo(10.0, args.end), period)
        print(f"\nsessions at scale 10 (CPU seconds, best of 3): the sessions query alone {alone:.2f} s of "
              f"`csreport metrics` {whole:.2f} s; without it {whole - alone:.2f} s, so sessions add "
              f"{100 * alone / (whole - alone):.0f}% "
              "(target: at most 30%)", flush=True)
    if not args.skip_big:
        print(f"\nchecking disk before generating demo scale {args.big:g} (~{args.big * 0.03:.1f} GB of Parquet) ...")
        subprocess.run(["df", "-h", str(ROOT)], check=False)
        big_month(args.big, args.end)
    if not args.skip_report:
        ours, floor = report_benchmark(demo(1.0, args.end), period)
        print(f"\n`csreport run` (HTML + PDF, scale 1): {ours:.1f} s; floor (trivial papermill + nbconvert + "
              f"1-page WeasyPrint PDF): {floor:.1f} s; ratio {ours / floor:.2f}x (best of 3 each)")
    if not args.skip_batch:
        print_batch(batch_benchmark(demo(1.0, args.end), period, args.batch_accounts, args.workers))
    print(f"\nmachine: {os.cpu_count()} cores; python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
