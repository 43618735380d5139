"""What sessions add to `csreport metrics` (issue 11: target at most +30%), whole processes, interleaved.

"without" is the same command with the sessions query switched off (``aggregates(..., sessions=False)``),
so the session keys come out empty: for measurement only.

    python bench/sessions_cost.py [--data bench/data/scale10-2026-10] [--period 2026-10] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RUN = "import sys; from csreport.cli import main; sys.argv = ['csreport'] + sys.argv[1:]; main()"
NO_SESSIONS = ("import csreport.data.events as e\n"
               "aggregates = e.EventStore.aggregates\n"
               "e.EventStore.aggregates = lambda self, a, b, sessions=True, **options: "
               "aggregates(self, a, b, False, **options)\n"
               + RUN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="bench/data/scale10-2026-10")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    history = os.path.join(tempfile.mkdtemp(), "none.sqlite")
    common = ["metrics", "--data", args.data, "--period", args.period, "--quiet", "--history", history]
    commands = {"with sessions": [sys.executable, "-c", RUN, *common],
                "without": [sys.executable, "-c", NO_SESSIONS, *common]}
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    loads = []
    for _ in range(args.repeats):
        for name, command in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            wall[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            loads.append(os.getloadavg()[0])
    for name in commands:
        print(f"{name}: {statistics.median(wall[name]):.2f} s [{min(wall[name]):.2f}–{max(wall[name]):.2f}], "
              f"CPU {statistics.median(cpu[name]):.2f} s")
    added_wall = statistics.median(wall["with sessions"]) / statistics.median(wall["without"]) - 1
    added_cpu = statistics.median(cpu["with sessions"]) / statistics.median(cpu["without"]) - 1
    print(f"sessions add {100 * added_wall:+.0f}% wall, {100 * added_cpu:+.0f}% CPU (target: at most +30%); "
          f"load average (1 min) {min(loads):.1f}–{max(loads):.1f}")


if __name__ == "__main__":
    main()
