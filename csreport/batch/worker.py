"""A batch worker: one process, one warm kernel, many reports.

``csreport batch`` starts N of these (one per core by default). Each keeps one kernel running
and, per group, executes the group's notebook in it with papermill
(:func:`csreport.report.warm.execute_warm`), then renders HTML and PDF itself, so rendering
runs in parallel too. A failing group is reported back (its error class, exit code and
message) and the worker goes on with the next; a kernel that died is restarted.
"""
from __future__ import annotations

import signal
import time
from dataclasses import dataclass, field
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any

from ..errors import CsreportError
from ..report.render import to_html, to_pdf, warm_up
from ..report.warm import WarmKernel, execute_warm

_KERNEL: WarmKernel | None = None


@dataclass(frozen=True)
class Task:
    """One group's report: run ``notebook`` with ``parameters`` into ``folder``, render what ``formats`` asks."""

    key: str
    notebook: str
    folder: str
    executed: str  # file name of the executed notebook
    parameters: dict[str, Any]
    meta: dict[str, Any]  # the template's header fields
    files: dict[str, str] = field(default_factory=dict)  # format ('html', 'pdf') -> file name


@dataclass(frozen=True)
class Outcome:
    key: str
    ok: bool
    seconds: float
    error: str | None = None
    exit_code: int = 0


def start_worker(password: str | None = None) -> None:
    """Process initializer: ignore Ctrl-C (the parent handles it), start the kernel, import the renderers.
    ``password``: the data source's PostgreSQL password, for the kernel (None for files)."""
    global _KERNEL
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _KERNEL = WarmKernel(password=password)
    Finalize(_KERNEL, _KERNEL.close, exitpriority=10)  # run at the worker's exit (atexit is not, in a pool)
    warm_up()


def ready() -> None:
    """Nothing: submitted once per worker when the pool opens, so every worker (and its kernel) starts at once."""


def render(task: Task) -> Outcome:
    """Execute and render one group; every failure becomes an Outcome, never an exception."""
    started = time.perf_counter()
    folder = Path(task.folder)
    try:
        if _KERNEL is None:
            raise CsreportError("the batch worker has no kernel (start_worker did not run)")
        executed = folder / task.executed
        execute_warm(Path(task.notebook), executed, task.parameters, _KERNEL)
        html = to_html(executed, task.meta)
        if "html" in task.files:
            (folder / task.files["html"]).write_text(html, encoding="utf-8")
        if "pdf" in task.files:
            to_pdf(html, folder / task.files["pdf"], folder)
    except CsreportError as exc:
        return Outcome(task.key, False, time.perf_counter() - started, str(exc), exc.exit_code)
    except Exception as exc:  # a kernel that died, a broken notebook file, ...: this group fails, not the batch
        return Outcome(task.key, False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}", 1)
    return Outcome(task.key, True, time.perf_counter() - started)
