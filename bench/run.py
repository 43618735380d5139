"""`make bench`: wall time and peak memory of csreport on demo data (not part of `make test`).

1. `csreport metrics` on demo data at scale 1, 10 and 20 (~5·10^6, ~5·10^7 and ~10^8 events) against its
   peers, each a fresh process, interleaved (metrics, floor, Polars, pandas, metrics, floor, ...; --repeats
   rounds, default 5): the DuckDB floor (bench/peers.py floor: the six small tables and ONE grouping-sets
   query over the month's events), a straightforward Polars script and a straightforward pandas script of
   the same engagement metrics (values checked equal to csreport's). Median wall seconds with min–max,
   CPU seconds (all threads, from rusage), peak RSS and the 1-minute load average of each round. The first
   `csreport metrics` over the files (empty validation cache) is measured separately, once.
2. `csreport backfill` of 24 months against one `csreport metrics` run, interleaved, on scale 1 and 20
   (--backfill-scales).
3. (bench/sessions_cost.py, its own step of `make bench`) The added cost of sessions at scale 10: whole
   `csreport metrics` processes with and without the sessions query (target: at most 30% slower).
4. (--spark-big) A month over 10^8 events (demo scale 21, ~1.0·10^8 events): `csreport metrics` on DuckDB (time,
   peak RSS) and with `--engine spark` in local mode (time), both on this machine's cores, plus the
   per-row costs of the Spark scans that the 10^10-event cluster plan in BENCHMARKS.md is sized from.
5. Account reviews (HTML + PDF) for N accounts (default 50): `csreport batch --by account` against a
   loop of one full run-style execution per account (a fresh process and kernel that loads the data,
   computes the account and renders it, as `csreport run` does for the company), on the same data;
   and a second, smaller batch to split the batch's time into setup and per-report cost, for the
   projection to every demo account.

Usage: python bench/run.py [--scales 1,10,20] [--repeats 5] [--backfill-scales 1,20] [--only-metrics]
                           [--spark-big] [--big 21] [--skip-report] [--skip-batch] [--only-batch]
                           [--batch-accounts 50] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds

from csreport.periods import Period

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


PEERS = ROOT / "bench" / "peers.py"
ENGAGEMENT = ("mau", "dau_avg", "stickiness_pct", "active_accounts_pct")


@dataclass
class Runs:
    """Whole-process measurements of one command: wall seconds, CPU seconds, peak RSS (MB), load average."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)

    def add(self, seconds: float, peak: float) -> None:
        self.wall.append(seconds)
        self.cpu.append(CPU_SECONDS[-1])
        self.rss.append(peak)
        self.load.append(os.getloadavg()[0])

    def text(self) -> str:
        return (f"{statistics.median(self.wall):.2f} s [{min(self.wall):.2f}–{max(self.wall):.2f}], "
                f"CPU {statistics.median(self.cpu):.2f} s, RSS {statistics.median(self.rss):.0f} MB")


def same_engagement(ours: dict, theirs: dict, who: str) -> None:
    """The peer computed the same engagement numbers as `csreport metrics` (else its timing means nothing)."""
    for key in ENGAGEMENT:
        a, b = ours[key], theirs[key]
        assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), (who, key, a, b)
    adoption = theirs["feature_adoption_pct"]
    assert adoption.keys() == ours["feature_adoption_pct"].keys(), who
    assert all(abs(v - adoption[k]) <= 1e-9 * max(1.0, v) for k, v in ours["feature_adoption_pct"].items()), who


def metrics_vs_peers(folder: Path, period: str, repeats: int, peers: list[str]) -> dict:
    """`csreport metrics` and its peers, interleaved round by round, each a fresh process (see the docstring)."""
    import tempfile

    metrics = [BIN / "csreport", "metrics", "--data", folder, "--period", period, "--quiet",
               "--history", DATA / "no-history.sqlite"]
    # the first run over the files: nothing remembered yet (its own empty cache folder)
    cold_cache = tempfile.mkdtemp(prefix="csreport-bench-cache-")
    os.environ["CSREPORT_CACHE_DIR"] = cold_cache
    cold = Runs()
    cold.add(*timed(metrics)[:2])
    runs = {name: Runs() for name in ["csreport", *peers]}
    for _ in range(repeats):
        seconds, peak, out = timed(metrics)  # warm: the validation cache of the cold run
        runs["csreport"].add(seconds, peak)
        ours = json.loads(out)["metrics"]
        for peer in peers:
            seconds, peak, out = timed([sys.executable, PEERS, peer, folder, period])
            runs[peer].add(seconds, peak)
            same_engagement(ours, json.loads(out), peer)
    del os.environ["CSREPORT_CACHE_DIR"]
    return {"cold": cold, **runs}


def backfill_vs_metrics(folder: Path, period: str, repeats: int) -> dict:
    """`csreport backfill` of 24 months against one `csreport metrics`, interleaved (warm validation cache)."""
    end = Period.parse(period)
    history = DATA / "bench-backfill.sqlite"
    metrics = [BIN / "csreport", "metrics", "--data", folder, "--period", period, "--quiet",
               "--history", DATA / "no-history.sqlite"]
    backfill = [BIN / "csreport", "backfill", "--data", folder, "--from", str(end.shift(-23)), "--to", period,
                "--history", history, "--quiet"]
    timed(metrics)  # the validation cache is filled by this run
    runs = {"metrics": Runs(), "backfill": Runs()}
    for _ in range(repeats):
        runs["metrics"].add(*timed(metrics)[:2])
        history.unlink(missing_ok=True)
        runs["backfill"].add(*timed(backfill)[:2])
    return runs


def print_peers(rows: list[tuple[float, int, dict]]) -> None:
    """The markdown table of BENCHMARKS.md: medians [min–max] of whole processes, ratios of medians."""
    def med(r: Runs) -> float:
        return statistics.median(r.wall)

    print("\n| scale | events | `csreport metrics` | floor | **ratio** | first run (cold cache) | Polars | pandas "
          "| Polars / csreport | pandas / csreport | CPU s (csreport / floor / Polars / pandas) "
          "| peak RSS MB (same order) | load avg (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for scale, events, r in rows:
        order = [r[name] for name in ("csreport", "floor", "polars", "pandas") if name in r]
        span = [f"{med(x):.2f} s [{min(x.wall):.2f}–{max(x.wall):.2f}]" for x in order] + ["n/a"] * (4 - len(order))
        c, f = r["csreport"], r["floor"]
        versus = [f"{med(r[n]) / med(c):.2f}x" if n in r else "n/a" for n in ("polars", "pandas")]
        loads = [x for one in order for x in one.load]
        print(f"| {scale:g} | {events:,} | {span[0]} | {span[1]} | **{med(c) / med(f):.2f}x** | {med(r['cold']):.2f} s "
              f"| {span[2]} | {span[3]} | {versus[0]} | {versus[1]} "
              f"| {' / '.join(f'{statistics.median(x.cpu):.2f}' for x in order)} "
              f"| {' / '.join(f'{statistics.median(x.rss):.0f}' for x in order)} "
              f"| {min(loads):.1f}–{max(loads):.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10,20")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per scale (default 5)")
    parser.add_argument("--pandas-up-to", type=float, default=10.0,
                        help="largest scale the pandas script runs at (it loads the whole events table)")
    parser.add_argument("--skip-backfill", action="store_true", help="no backfill vs metrics comparison")
    parser.add_argument("--backfill-scales", default="1,20",
                        help="scales of the backfill vs metrics comparison (20: 10^8 events)")
    parser.add_argument("--only-metrics", action="store_true", help="only the metrics, peers and backfill figures")
    parser.add_argument("--end", default="2026-10", help="last month of the demo data")
    parser.add_argument("--skip-report", action="store_true", help="only the metrics benchmarks")
    parser.add_argument("--big", type=float, default=21.0, help="demo scale of the 10^8-event month")
    parser.add_argument("--spark-big", action="store_true", help="the 10^8-event month on DuckDB and Spark (issue 12)")
    parser.add_argument("--skip-batch", action="store_true", help="no `csreport batch` benchmark")
    parser.add_argument("--only-batch", action="store_true", help="only the `csreport batch` benchmark")
    parser.add_argument("--batch-accounts", type=int, default=50, help="account reviews to compare (default 50)")
    parser.add_argument("--workers", type=int, help="batch workers (default: one per core)")
    args = parser.parse_args()
    period = args.end
    rows: list[tuple[float, int, dict]] = []
    if args.only_batch:
        print_batch(batch_benchmark(demo(1.0, args.end), period, args.batch_accounts, args.workers))
        return
    for scale in [float(s) for s in args.scales.split(",") if s.strip()]:
        folder = demo(scale, args.end)
        events = ds.dataset(folder / "events.parquet").count_rows()
        peers = ["floor", "polars", "pandas"] if scale <= args.pandas_up_to else ["floor", "polars"]
        print(f"scale {scale:g}: {events:,} events; load average {load_average()}", flush=True)
        result = metrics_vs_peers(folder, period, args.repeats, peers)
        rows.append((scale, events, result))
        for name, runs in result.items():
            print(f"  {name}: {runs.text()}; load {min(runs.load):.1f}–{max(runs.load):.1f}", flush=True)
    if rows:
        print_peers(rows)
    for scale in [] if args.skip_backfill else [float(s) for s in args.backfill_scales.split(",") if s.strip()]:
        runs = backfill_vs_metrics(demo(scale, args.end), period, max(3, args.repeats // 2))
        ratio = statistics.median(runs["backfill"].wall) / statistics.median(runs["metrics"].wall)
        cpu = statistics.median(runs["backfill"].cpu) / statistics.median(runs["metrics"].cpu)
        print(f"\nbackfill of 24 months (scale {scale:g}): {runs['backfill'].text()}; one `csreport metrics`: "
              f"{runs['metrics'].text()}; ratio {ratio:.2f}x wall, {cpu:.2f}x CPU; load "
              f"{min(runs['metrics'].load):.1f}–{max(runs['backfill'].load):.1f}", flush=True)
    if args.only_metrics:
        return
    if args.spark_big:
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
