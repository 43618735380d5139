"""`csreport run`: execute the report notebook, render it, publish it, record it — all or nothing.

1. This process reads the data and builds the report model while a kernel starts and imports
   csreport on the other core; the notebook then runs in that kernel, in a hidden staging folder
   next to the target, reads the model (``model_path``) instead of building it, and leaves it in
   its outputs. (Run in Jupyter, the same notebook builds the model itself.)
2. The model is read back from the executed notebook; HTML/PDF, metrics.json and
   health.csv are written into the staging folder.
3. Under a lock per output folder and period, the staging folder replaces ``OUT/YYYY-MM/``
   and then the period is recorded in the history store. If recording fails, the
   earlier report is put back: a report is published exactly when its history is.

A failed notebook is kept as ``OUT/YYYY-MM.failed.ipynb`` for debugging.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from ..benchmark.history import History
from ..benchmark.targets import targets_for, warn_unmatched_segments
from ..config import load_config
from ..errors import ConfigError, CsreportError, NotebookError
from ..model import ReportModel
from ..model.records import NOT_RECORDED
from ..periods import Period
from ..progress import say
from .execute import kernel_password, read_model
from .narrative import quarantine_line, unfinished_line
from .outputs import REJECTS_FOLDER, report_filename, write_health_csv, write_metrics_json
from .publish import period_lock, publish_and_record, recover, staging_prefix
from .render import report_meta, to_html, to_pdf, warm_up

if TYPE_CHECKING:
    from ..benchmark.targets import Targets
    from ..config import Config
    from .warm import WarmKernel

DEFAULT_NOTEBOOK = "executive_summary.ipynb"


def packaged_notebook(name: str = DEFAULT_NOTEBOOK) -> resources.abc.Traversable:
    """A report notebook shipped inside the package (works from a wheel, outside any checkout)."""
    return resources.files("csreport") / "notebooks" / name


def absolute_source(source: str) -> str:
    """The data source as the kernel must see it: URLs as given, local paths made absolute."""
    if "://" not in source:  # a path (every URL scheme has '://'): the database module is not needed
        return str(Path(source).resolve())
    from ..data.postgres import is_url

    return source if is_url(source) else str(Path(source).resolve())


def run_report(data_source: str, period: Period, config_path: Path | None, out: Path, formats: list[str],
               on_invalid: str = "stop", targets_path: Path | None = None, quiet: bool = False,
               notebook: Path | None = None, history_path: Path | None = None) -> tuple[Path, ReportModel | None]:
    """Produce OUT/YYYY-MM/, record the period in the history store; return the folder and the model."""
    config = load_config(config_path)
    targets = targets_for(config, targets_path)  # a bad targets file stops the run before anything starts
    out = writable_folder(out)  # the kernel runs in the staging folder: every path it gets must be absolute
    if notebook is not None:
        _readable_notebook(notebook)
    history = History(history_path or out / "history.sqlite")
    final = out / str(period)
    failed = out / f"{period}.failed.ipynb"
    progress = not quiet and sys.stderr.isatty()  # a live bar on a terminal; one line per step in cron logs
    with period_lock(out, period), ExitStack() as stack:
        recover(out, period)
        source_notebook = notebook or stack.enter_context(resources.as_file(packaged_notebook()))
        stage = Path(tempfile.mkdtemp(prefix=staging_prefix(period), dir=out))
        stack.callback(shutil.rmtree, stage, ignore_errors=True)
        # mkdtemp makes 0700; the published folder is read by others (the team, a web server)
        os.chmod(stage, 0o777 & ~_umask())
        executed = stage / source_notebook.name
        source = absolute_source(data_source)
        parameters = {"period": str(period), "data_source": source,
                      "config_path": str(config_path.resolve()) if config_path else None,
                      "targets_path": str(targets_path.resolve()) if targets_path else None,
                      "history_path": str(history.path.resolve()), "on_invalid": on_invalid,
                      "rejects_dir": str(stage / REJECTS_FOLDER)}
        started = time.perf_counter()
        # two cores at work: this process builds the report model while a kernel starts and imports
        # csreport's stack; the notebook then reads the model instead of building it (no work twice)
        kernel = stack.enter_context(_StartingKernel(kernel_password(source)))
        model_file = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="csreport-model-"))) / "model.json"
        say(f"reading the data and computing the metrics of {period} ...", quiet)
        built = _build(source, period, config, history, on_invalid, targets, stage / REJECTS_FOLDER, quiet)
        model_file.write_text(built.model_dump_json(), encoding="utf-8")
        # the renderers take ~1.5 s to load: do it while the kernel works (this process just waits)
        warming = threading.Thread(target=warm_up, daemon=True)
        warming.start()
        say(f"executing {source_notebook.name} for {period} ...", quiet)
        from .warm import execute_warm

        try:
            execute_warm(source_notebook, executed, {**parameters, "model_path": str(model_file)}, kernel.ready(),
                         progress=progress)
        except CsreportError as exc:
            if executed.exists():
                shutil.copy2(executed, failed)
                raise _with_context(exc, f"The executed notebook with the full traceback is kept at {failed}; "
                                         f"no report was written and {final} is unchanged.") from None
            raise
        notebook = nbformat.read(str(executed), as_version=4)  # once, for the model and the page
        model = read_model(notebook)
        if model is not None:
            model = _published_paths(model, stage, final)
            unfinished = unfinished_line(model)
            for warning in (unfinished and f"{unfinished} {NOT_RECORDED}", quarantine_line(model)):
                if warning:  # a warning, not progress: said even with --quiet
                    say(f"warning: {warning}")
        say(f"executed in {time.perf_counter() - started:.1f} s; rendering {', '.join(formats)} ...", quiet)
        warming.join()  # long done unless the notebook was quicker: then rendering waits for what it needs anyway
        html = to_html(notebook, report_meta(model, config, period))
        if "html" in formats:
            (stage / report_filename(period, "html")).write_text(html, encoding="utf-8")
        if "pdf" in formats:
            to_pdf(html, stage / report_filename(period, "pdf"), stage, config.report.render_timeout_seconds)
        if model is not None:
            write_metrics_json(model, stage)
            write_health_csv(model, stage)
        else:
            say(f"{source_notebook.name} published no report model: no metrics.json, health.csv or history "
                "record (call csreport.report.kernel.start in the notebook)", quiet)
        publish_and_record(stage, final, model, history)
        failed.unlink(missing_ok=True)
        say(f"report ready in {time.perf_counter() - started:.1f} s: {final}", quiet)
        return final, model


def _build(data_source: str, period: Period, config: Config, history: History, on_invalid: str,
           targets: Targets, rejects_dir: Path, quiet: bool) -> ReportModel:
    """The report model of ``period``, as ``csreport metrics`` builds it (the history is only read here)."""
    from ..data import load_dataset
    from ..model import build_model

    dataset = load_dataset(data_source, config, on_invalid="quarantine" if on_invalid == "quarantine" else "stop",
                           rejects_dir=rejects_dir, quiet=quiet)
    warn_unmatched_segments(targets, dataset.segment_names())
    return build_model(dataset, period, config, targets, history)


class _StartingKernel:
    """A kernel started (and csreport's report modules imported in it) in a thread, while this process
    builds the model; :meth:`ready` waits for it. Shut down at once when the context ends."""

    _IMPORTS = "import csreport.report.kernel, csreport.report.charts, csreport.report.components"

    def __init__(self, password: str | None) -> None:
        self._password = password
        self._kernel: WarmKernel | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, daemon=True)

    def __enter__(self) -> _StartingKernel:
        self._thread.start()
        return self

    def _start(self) -> None:
        try:
            from .warm import WarmKernel  # papermill and jupyter_client load here, beside the model build

            self._kernel = WarmKernel(password=self._password)
            self._kernel.run_quietly(self._IMPORTS)
        except BaseException as exc:  # handed to the main thread by ready()
            self._error = exc

    def ready(self) -> WarmKernel:
        self._thread.join()
        if self._kernel is None:
            raise NotebookError(f"the notebook kernel did not start: {self._error}")
        return self._kernel

    def __exit__(self, *exc_info: object) -> None:
        self._thread.join()
        if self._kernel is not None:
            self._kernel.close()


def _readable_notebook(path: Path) -> None:
    """``--notebook``: a Jupyter notebook that exists and can be read; a clean error (exit 2) otherwise."""
    _no_template_braces(path, "--notebook")
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"--notebook {path} {what}; name a Jupyter notebook (.ipynb) file")
    try:
        nbformat.read(str(path), as_version=4)
    except Exception as exc:  # not JSON, not a notebook, unreadable: nbformat raises many kinds
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"--notebook {path} is not a Jupyter notebook csreport can read ({reason[:200]}); "
                          "save it from Jupyter again") from None


def _no_template_braces(path: Path, option: str) -> None:
    """papermill reads '{...}' in notebook paths as a template of the parameters: '{period}' would be
    replaced and '{x}' fail. Such a path is refused rather than written somewhere else."""
    if "{" in str(path) or "}" in str(path):
        raise ConfigError(f"{option} {path} holds '{{' or '}}', which the notebook runner (papermill) reads as a "
                          "template; choose a path without braces")


def writable_folder(out: Path) -> Path:
    """``--out`` as an absolute folder that exists and can be written (a clean error otherwise, exit 2)."""
    _no_template_braces(out, "--out")
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; name a folder for the reports")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise ConfigError(f"--out {out} cannot be written ({exc.strerror or exc}); name a folder this user can "
                          "write, or fix its permissions") from None
    return out


def _umask() -> int:
    """The process's file-creation mask (read by setting it, then restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _with_context(exc: CsreportError, context: str) -> CsreportError:
    """The same kind of error (same exit code), with a sentence on what was kept and where."""
    if isinstance(exc, NotebookError):
        return NotebookError(f"{exc}. {context}", exc.cell_number, exc.first_line, exc.exception_type,
                             exc.exception_message)
    from .execute import _documented_base

    return _documented_base(type(exc))(f"{exc}. {context}")


def _published_paths(model: ReportModel, stage: Path, final: Path) -> ReportModel:
    """Rejects files are written in the staging folder; metrics.json names where they are published."""
    quality = {}
    for name, table in model.data_quality.items():
        path = table.rejects_file
        if path and Path(path).is_relative_to(stage):
            path = str(final / Path(path).relative_to(stage))
        quality[name] = table.model_copy(update={"rejects_file": path})
    return model.model_copy(update={"data_quality": quality})
