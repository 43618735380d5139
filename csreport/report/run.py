"""`csreport run`: execute the report notebook and render it, all-or-nothing.

Everything is written into a hidden staging folder next to the target and moved
into ``OUT/YYYY-MM/`` only when every step succeeded, so a failed run never leaves
a half-written report and never touches an earlier good one. A failed notebook is
kept as ``OUT/YYYY-MM.failed.ipynb`` for debugging.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from ..benchmark.history import History
from ..config import load_config
from ..errors import ConfigError, DataError, NotebookError
from ..periods import Period
from ..progress import say
from .execute import execute_notebook
from .context import RECORD
from .render import report_meta, to_html, to_pdf

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "executive_summary.ipynb"


def report_name(period: Period) -> str:
    return f"customer-success-report-{period}"


def run_report(data: Path, period: Period, config: Path | None, out: Path, formats: list[str],
               on_invalid: str = "stop", targets: Path | None = None, quiet: bool = False,
               notebook: Path = NOTEBOOK, history: Path | None = None) -> Path:
    """Produce OUT/YYYY-MM/, record the period in the history store, and return the folder."""
    settings = load_config(config)
    out = out.resolve()  # the notebook runs in notebooks/: every path it gets must be absolute
    out.mkdir(parents=True, exist_ok=True)
    history = history or out / "history.sqlite"
    final = out / str(period)
    failed = out / f"{period}.failed.ipynb"
    stage = Path(tempfile.mkdtemp(prefix=f".{period}.staging-", dir=out))
    try:
        executed = stage / "executive_summary.ipynb"
        parameters = {"period": str(period), "data": str(data.resolve()), "output_dir": str(stage),
                      "config": str(config.resolve()) if config else None, "on_invalid": on_invalid,
                      "targets": str(targets.resolve()) if targets else None, "history": str(history.resolve())}
        started = time.perf_counter()
        # the renderers take ~1.5 s to import: do it while the kernel works (this process just waits)
        warm = threading.Thread(target=_import_renderers, daemon=True)
        warm.start()
        say(f"executing {notebook.name} for {period} ...", quiet)
        try:
            execute_notebook(notebook, executed, parameters, progress=not quiet)
        except (NotebookError, DataError, ConfigError) as exc:
            if executed.exists():
                shutil.copy2(executed, failed)
                raise type(exc)(f"{exc}. The executed notebook with the full traceback is kept at {failed}; "
                                    f"no report was written and {final} is unchanged.") from exc
            raise
        say(f"executed in {time.perf_counter() - started:.1f} s; rendering {', '.join(formats)} ...", quiet)
        warm.join()
        meta = report_meta(stage / "metrics.json", settings.report.company, settings.report.title, settings.report.paper)
        html = to_html(executed, meta)
        if "html" in formats:
            (stage / f"{report_name(period)}.html").write_text(html, encoding="utf-8")
        if "pdf" in formats:
            to_pdf(html, stage / f"{report_name(period)}.pdf", stage)
        _record(stage / RECORD, History(history))
        _publish(stage, final)
        failed.unlink(missing_ok=True)
        say(f"report ready in {time.perf_counter() - started:.1f} s: {final}", quiet)
        return final
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _import_renderers() -> None:
    try:
        import nbconvert  # noqa: F401
        import weasyprint  # noqa: F401
    except Exception:  # noqa: BLE001 - a missing engine is reported properly by render.to_pdf later
        pass


def _record(record_file: Path, history: History) -> None:
    """Write the staged metrics into the history store (one transaction), then drop the staging file."""
    if not record_file.exists():  # a custom notebook that does not call build_report
        return
    record = json.loads(record_file.read_text(encoding="utf-8"))
    stats = {seg: {k: tuple(v) for k, v in s.items()} for seg, s in record["stats"].items()}
    history.write_period(record["period"], record["values"], stats, record["fingerprint"])
    record_file.unlink()


def _publish(stage: Path, final: Path) -> None:
    """Swap the finished staging folder into place; the old report is removed only after."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{time.time_ns()}")
        final.rename(old)
    stage.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
