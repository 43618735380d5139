"""`csreport run` (HTML + PDF) against the floor of the tools it uses, side by side (issue 15).

The floor is one whole Python process (``python bench/run_floor.py --floor REPORT.html``) that does
what any papermill + nbconvert + WeasyPrint report must do, and nothing of csreport:

1. papermill executes a 2-cell notebook (a parameters cell and one more) in a fresh ``python3``
   kernel, the kernel `csreport run` uses;
2. nbconvert exports the executed notebook to HTML;
3. WeasyPrint prints the *same* final report HTML that `csreport run` produced (copied from a run),
   so the PDF's pages, fonts and charts cost the floor exactly what they cost the report.

The driver (no ``--floor``) makes demo data if needed, runs `csreport run` once to get that HTML,
then times the two commands interleaved (run, floor, run, floor, ...), each as a whole process:
wall seconds, and CPU seconds of the process and every child it waited for (the kernel, the PDF
child) from ``os.wait4``'s rusage. It prints medians with min–max, the ratio of the medians, and the
load average before and after, because the machine may be shared.

After the side-by-side runs, three more runs of `csreport run` per tree (not quiet) are split into steps: the times its
progress lines arrive on stderr, and papermill's timestamps in the executed notebook (kernel start, each
cell, kernel shutdown and saving), on the same clock.

Usage: python bench/run_floor.py [--data FOLDER] [--period 2026-10] [--repeats 7] [--tree LABEL=SRC ...]
       python bench/run_floor.py --floor REPORT.html      (the floor alone, one process)

``--tree before=/tmp/main-src`` measures `csreport run` from another source tree (e.g. ``git archive main
csreport | tar -x -C /tmp/main-src``) instead of the installed one, by putting it first on PYTHONPATH (the
kernel inherits PYTHONPATH); repeat it to compare versions side by side with the floor.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATA = ROOT / "bench" / "data"
BIN = Path(sys.executable).parent


def floor(report_html: Path) -> None:
    """The floor itself: papermill on a 2-cell notebook, nbconvert to HTML, WeasyPrint on the report's HTML."""
    import tempfile

    import nbformat
    import papermill as pm
    import weasyprint
    from nbconvert import HTMLExporter

    folder = Path(tempfile.mkdtemp(prefix="csreport-floor-"))
    try:
        notebook = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("print(x)"),
        ])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, folder / "floor.ipynb")
        pm.execute_notebook(str(folder / "floor.ipynb"), str(folder / "executed.ipynb"), parameters={"x": 2},
                            kernel_name="python3", progress_bar=False)
        html, _ = HTMLExporter().from_filename(str(folder / "executed.ipynb"))
        (folder / "floor.html").write_text(html, encoding="utf-8")
        weasyprint.HTML(string=report_html.read_text(encoding="utf-8"),
                        base_url=str(report_html.parent)).write_pdf(str(folder / "floor.pdf"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def timed(cmd: list[str | Path], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of ``cmd`` as a whole process, children it waited for included."""
    start = time.perf_counter()
    child = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=None if env is None else os.environ | env)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({child.returncode}): {errors.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def steps(cmd: list[str | Path], env: dict[str, str] | None, executed: Path) -> list[tuple[str, float]]:
    """One `csreport run` split into steps, in seconds (see the module docstring)."""
    from datetime import datetime

    def at(stamp: str) -> float:
        return datetime.fromisoformat(stamp).timestamp()

    launched = time.time()
    child = subprocess.Popen([str(c) for c in cmd if c != "--quiet"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=None if env is None else os.environ | env)
    assert child.stderr is not None
    said = {}
    for line in child.stderr:
        for key in ("reading the data", "executing", "executed in", "report ready"):
            if key in line and key not in said:
                said[key] = time.time()
    if "executing" in said:  # a tree from before the parent built the model says no "reading the data"
        said.setdefault("reading the data", said["executing"])
    if child.wait() != 0 or len(said) < 4:
        sys.exit(f"{cmd[0]} failed ({child.returncode})")
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    ran = notebook["metadata"]["papermill"]
    cells = [c["metadata"]["papermill"] for c in notebook["cells"] if c["cell_type"] == "code"]
    model_cell = next(i for i, c in enumerate(c for c in notebook["cells"] if c["cell_type"] == "code")
                      if "kernel.start(" in "".join(c["source"]))
    computed = re.search(r"computed in ([\d.]+) s", json.dumps(notebook["cells"]))
    first, last = at(cells[0]["start_time"]), at(cells[-1]["end_time"])
    model = cells[model_cell]["duration"]
    build = float(computed.group(1)) if computed else 0.0
    return [
        ("parent start-up: Python, imports, config, lock, staging", said["reading the data"] - launched),
        ("parent: data read and the model built (meanwhile a kernel starts and imports csreport)",
         said["executing"] - said["reading the data"]),
        ("papermill: read and parameterize the notebook (kernel already running), reset the kernel",
         first - said["executing"]),
        ("kernel: rest of the first code cell (reading and publishing the model)", model - build),
        ("kernel: data read and metrics computed (0: the parent built the model)", build),
        ("kernel: the other cells (charts, tables, text)", last - first - model),
        ("kernel shutdown, executed notebook saved", said["executed in"] - last),
        ("parent: read the model, HTML (nbconvert), PDF (WeasyPrint), metrics.json, publish",
         said["report ready"] - said["executed in"]),
        ("whole process", time.time() - launched),
    ] if ran else []


def load_average() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s [{min(values):.2f}–{max(values):.2f}]"


def demo_data(period: str) -> Path:
    folder = BENCH_DATA / f"scale1-{period}"  # the same folder bench/run.py makes at scale 1
    if not (folder / "events.parquet").exists():
        print(f"generating demo data at scale 1 in {folder} ...", flush=True)
        subprocess.run([BIN / "csreport", "demo", "--out", folder, "--scale", "1", "--end", period], check=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--floor", type=Path, metavar="REPORT_HTML", help="run the floor once, in this process")
    parser.add_argument("--data", type=Path, help="demo data (default: bench/data/scale1-PERIOD, made if absent)")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--repeats", type=int, default=7, help="runs of each command, interleaved (default 7)")
    parser.add_argument("--step-runs", type=int, default=3, help="runs split into steps, per tree (default 3)")
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=SRC",
                        help="measure `csreport run` from this source tree instead of the installed one (repeatable)")
    args = parser.parse_args()
    if args.floor:
        floor(args.floor)
        return
    data = args.data or demo_data(args.period)
    out = BENCH_DATA / "run-floor"
    shutil.rmtree(out, ignore_errors=True)
    trees = dict(tree.split("=", 1) for tree in args.tree) or {"": ""}
    runs = {f"run {label}".strip(): ([BIN / "csreport", "run", "--data", data, "--period", args.period, "--out",
                                       out / f"reports{label}", "--quiet"], {"PYTHONPATH": src} if src else None)
            for label, src in trees.items()}
    for cmd, env in runs.values():
        timed(cmd, env)  # a first run of each: the report HTML for the floor, and a warm disk cache for all
    first_cmd = next(iter(runs.values()))[0]
    report_html = out / "floor-input.html"
    shutil.copy2(Path(first_cmd[first_cmd.index("--out") + 1]) / args.period
                 / f"customer-success-report-{args.period}.html", report_html)
    commands = {**runs, "floor": ([sys.executable, Path(__file__).resolve(), "--floor", report_html], None)}
    timed(*commands["floor"])
    load_before = load_average()
    print(f"`csreport run` vs floor, {args.repeats} interleaved runs each; load average (1/5/15 min) before: "
          f"{load_before}", flush=True)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for i in range(args.repeats):
        for name, (cmd, env) in commands.items():
            seconds, cpu = timed(cmd, env)
            results[name].append((seconds, cpu))
            print(f"  {i + 1}. {name:12} {seconds:6.2f} s wall {cpu:6.2f} CPU s   load {load_average()}", flush=True)
    floor_wall = statistics.median(s for s, _ in results["floor"])
    floor_cpu = statistics.median(c for _, c in results["floor"])
    print("\n| what | wall, median [min–max] | CPU seconds, median [min–max] | ratio to the floor (wall / CPU) |")
    print("|---|---|---|---|")
    for name, values in results.items():
        walls, cpus = [s for s, _ in values], [c for _, c in values]
        label = name.removeprefix("run").strip()
        what = ("floor: papermill 2-cell notebook + nbconvert HTML + WeasyPrint on the same report HTML"
                if name == "floor" else f"`csreport run`{f' ({label})' if label else ''}, HTML + PDF, {args.period}")
        print(f"| {what} | {spread(walls)} | {spread(cpus)} | {statistics.median(walls) / floor_wall:.2f}x / "
              f"{statistics.median(cpus) / floor_cpu:.2f}x |")
    print(f"\nload average (1/5/15 min) before: {load_before}; after: {load_average()}; {os.cpu_count()} cores; "
          f"python {sys.version.split()[0]}; target: `csreport run` ≤ 1.5x the floor (wall, medians)")
    split: dict[str, list[list[tuple[str, float]]]] = {name: [] for name in runs}
    load_split = load_average()
    for _ in range(args.step_runs):
        for name, (cmd, env) in runs.items():
            executed = Path(cmd[cmd.index("--out") + 1]) / args.period / "executive_summary.ipynb"
            split[name].append(steps(cmd, env, executed))
    print(f"\n{args.step_runs} more runs of each, interleaved, split into steps (seconds, median; load average "
          f"before {load_split}, after {load_average()}):\n")
    print("| step | " + " | ".join(f"`csreport {name}`" for name in split) + " |")
    print("|---|" + "---|" * len(split))
    for i, (step, _) in enumerate(next(iter(split.values()))[0]):
        print(f"| {step} | " + " | ".join(f"{statistics.median(one[i][1] for one in values):.2f}"
                                          for values in split.values()) + " |")


if __name__ == "__main__":
    main()
