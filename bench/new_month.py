"""What a month's report costs when the month arrives as a new Parquet part (issue 15: pay for the month).

The demo events at scale N are split into one Parquet part per month (`bench/data/partsN-END/events/`, the
small tables copied beside them). Each round starts from an empty cache, as on the day a month closes:

1. `csreport metrics` for the month before END over the parts before END: last month's run, which fills
   the cache;
2. END's part is added to the folder;
3. `csreport metrics` for END is timed: **the new month's run**. Only the new part is validated and
   hashed, and last month's aggregates (P−1) come back from step 1;
4. the same command again: a re-run, everything remembered.

Beside them, in the same rounds: the first run over the single-file layout (`events.parquet` of the same
events, empty cache), where adding a month rewrites the one file, so every event is validated, hashed and
aggregated again. Wall seconds (median [min–max]) and CPU seconds of whole processes.

    python bench/new_month.py [--scale 20] [--end 2026-10] [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from run import BIN, CPU_SECONDS, DATA, demo, load_average, timed

from csreport.periods import Period

RACY_SECONDS = 2.5  # files younger than 2 s are not remembered (csreport.data.cache): wait that long


def monthly_parts(scale: float, end: str) -> Path:
    """The demo data of ``scale`` with its events as one Parquet part per month (UTC), made once."""
    source = demo(scale, end)
    folder = DATA / f"parts{scale:g}-{end}"
    if (folder / "events").is_dir():
        return folder
    print(f"splitting the scale {scale:g} events into monthly parts ...", flush=True)
    staging = Path(tempfile.mkdtemp(dir=DATA, prefix=".parts-"))
    for table in source.glob("*.csv"):
        shutil.copy2(table, staging / table.name)
    (staging / "events").mkdir()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    events = str(source / "events.parquet").replace("'", "''")
    months = [m for (m,) in con.execute(f"SELECT DISTINCT strftime(occurred_at, '%Y-%m') AS m FROM read_parquet("
                                        f"'{events}') ORDER BY m").fetchall()]
    for month in months:
        start = Period.parse(month)
        con.execute(f"COPY (SELECT * FROM read_parquet('{events}') WHERE occurred_at >= TIMESTAMPTZ "
                    f"'{start.start_date:%Y-%m-%d} 00:00:00+00' AND occurred_at < TIMESTAMPTZ "
                    f"'{start.shift(1).start_date:%Y-%m-%d} 00:00:00+00') "
                    f"TO '{staging / 'events' / f'{month}.parquet'}' (FORMAT parquet)")
    staging.rename(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--end", default="2026-10")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    end = Period.parse(args.end)
    parts, single = monthly_parts(args.scale, args.end), demo(args.scale, args.end)
    new_part = parts / "events" / f"{end}.parquet"
    held = parts / f"{end}.parquet.held"  # END's part, outside the events folder until step 2
    if new_part.exists():
        new_part.rename(held)

    def metrics(folder: Path, period: Period) -> list:
        return [BIN / "csreport", "metrics", "--data", folder, "--period", str(period), "--quiet",
                "--history", DATA / "no-history.sqlite"]

    runs: dict[str, list[tuple[float, float]]] = {"new month": [], "re-run": [], "single file, first run": []}
    loads = []
    try:
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as cache:
                os.environ["CSREPORT_CACHE_DIR"] = cache
                time.sleep(RACY_SECONDS)
                timed(metrics(parts, end.previous))  # last month's run
                held.rename(new_part)
                time.sleep(RACY_SECONDS)
                loads.append(load_average())
                for name in ("new month", "re-run"):
                    seconds = timed(metrics(parts, end))[0]
                    runs[name].append((seconds, CPU_SECONDS[-1]))
                new_part.rename(held)
            with tempfile.TemporaryDirectory() as cache:
                os.environ["CSREPORT_CACHE_DIR"] = cache
                seconds = timed(metrics(single, end))[0]
                runs["single file, first run"].append((seconds, CPU_SECONDS[-1]))
    finally:
        os.environ.pop("CSREPORT_CACHE_DIR", None)
        if held.exists():
            held.rename(new_part)
    print(f"\n`csreport metrics` for {end} at scale {args.scale:g}, events as monthly Parquet parts; "
          f"{args.repeats} rounds, empty cache at the start of each; load average {loads[0]} … {loads[-1]}")
    print("\n| run | wall, median [min–max] | CPU seconds, median |\n|---|---|---|")
    for name, timings in runs.items():
        wall = [w for w, _ in timings]
        print(f"| {name} | {statistics.median(wall):.2f} s [{min(wall):.2f}–{max(wall):.2f}] "
              f"| {statistics.median(c for _, c in timings):.2f} s |")


if __name__ == "__main__":
    main()
