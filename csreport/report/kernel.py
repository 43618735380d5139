"""What runs inside the report notebook's kernel: build the model, hand it to `csreport run`.

The notebook computes; the parent reads the notebook. :func:`start` builds the period's
:class:`~csreport.model.ReportModel` by calling the package, and displays it as an output
of MIME type :data:`MODEL_MIME`, which the executed notebook keeps and ``csreport run``
reads back (``read_model``). No hand-off files: running the notebook in Jupyter writes
nothing anywhere (the history store is only read).

It also sets the notebook up for analysts (:mod:`csreport.report.jupyter`): their matplotlib
figures get the house style and are shown as SVG, in Jupyter and in the report; progress
appears as one quiet line that updates in place.

Errors cross the kernel boundary by class: while the notebook runs, a
:class:`~csreport.errors.CsreportError` raised in any cell is also displayed as
:data:`ERROR_MIME` (its class, exit code and message), so the parent exits with the same
code it would have given outside a notebook.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from .. import progress
from ..benchmark.history import History
from ..benchmark.targets import targets_for
from ..config import load_config
from ..data import load_dataset
from ..errors import ConfigError, CsreportError
from ..model import ReportModel, build_model
from ..periods import Period
from . import jupyter
from .definitions import reset_shown
from .protocol import ERROR_MIME, MODEL_MIME


def start(period: str | None, data_source: str, config_path: str | None = None, targets_path: str | None = None,
          history_path: str | None = None, on_invalid: str = "stop", rejects_dir: str | None = None,
          quiet: bool = False) -> ReportModel:
    """Build and publish the report model of ``period`` (None: the last complete month).

    The history store is only read here; `csreport run` records the period after the
    report was published.
    """
    shell = jupyter.shell()
    _report_errors_by_class(shell)
    jupyter.setup(shell)
    if on_invalid not in ("stop", "quarantine"):
        raise ConfigError(f"on_invalid must be 'stop' or 'quarantine', not {on_invalid!r}")
    started = time.perf_counter()
    with progress.sent_to(jupyter.ProgressLine()) if shell is not None else nullcontext():
        config = load_config(config_path)
        month = Period.parse(period) if period else Period.last_complete()
        dataset = load_dataset(data_source, config, on_invalid="quarantine" if on_invalid == "quarantine" else "stop",
                               rejects_dir=Path(rejects_dir) if rejects_dir else None, quiet=quiet)
        history = History(history_path) if history_path else None
        progress.say(f"computing the metrics of {month.label} ...", quiet)
        model = build_model(dataset, month, config, targets_for(config, targets_path), history)
        progress.say(f"{month.label}: data read and metrics computed in {time.perf_counter() - started:.1f} s", quiet)
    reset_shown()  # a new report: the definitions appendix lists what this one shows
    publish(model)
    return model


def publish(model: ReportModel) -> None:
    """Display the model so the executed notebook carries it (JSON); Jupyter shows the plain-text line."""
    from IPython.display import display

    summary = (f"Report model for {model.period}: {len(model.metrics)} metrics, {len(model.segments)} segments, "
               f"source fingerprint {model.provenance.fingerprint}")
    display({MODEL_MIME: model.model_dump(mode="json"), "text/plain": summary}, raw=True)


def _report_errors_by_class(shell: Any | None) -> None:
    """Make every CsreportError raised in a cell also leave a structured output behind."""
    if shell is None:  # plain Python: exceptions propagate as they are
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> Any:
        from IPython.display import display

        error = {"module": etype.__module__, "class": etype.__qualname__,
                 "exit_code": getattr(value, "exit_code", 1), "message": str(value)}
        display({ERROR_MIME: error, "text/plain": f"{etype.__name__}: {value}"}, raw=True)
        return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)

    shell.set_custom_exc((CsreportError,), handler)
