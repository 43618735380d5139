"""What runs inside the report notebook's kernel: build the model, hand it to `csreport run`.

:func:`start` builds the period's :class:`~csreport.model.ReportModel` by calling the package
(in Jupyter), or reads the one ``csreport run`` or ``csreport batch`` built for it (``model_path``),
and displays it as an output of MIME type :data:`MODEL_MIME`, which the executed notebook keeps
and ``csreport run`` reads back (``read_model``). Running the notebook in Jupyter writes nothing
anywhere (the history store is only read).

It also sets the notebook up for analysts (:mod:`csreport.report.jupyter`): their matplotlib
figures get the house style and are shown as SVG, in Jupyter and in the report; progress
appears as one quiet line that updates in place.

Errors cross the kernel boundary by class: while the notebook runs, a
:class:`~csreport.errors.CsreportError` raised in any cell is also displayed as
:data:`ERROR_MIME` (its class, exit code and message), so the parent exits with the same
code it would have given outside a notebook.
"""
from __future__ import annotations

import json
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any, TypeVar

from .. import progress
from ..benchmark.history import History
from ..benchmark.targets import Targets, targets_for
from ..config import Config, load_config
from ..data import Dataset, load_dataset
from ..errors import ConfigError, CsreportError
from ..model import Calculator, ModelOptions, ReportModel, build_model
from ..model.account import ACCOUNT_MONTHS, AccountBuilder, AccountModel
from ..periods import Period
from . import jupyter
from .definitions import reset_shown
from .protocol import ACCOUNT_MIME, ERROR_MIME, MODEL_MIME

M = TypeVar("M", ReportModel, AccountModel)


def start(period: str | None, data_source: str, config_path: str | None = None, targets_path: str | None = None,
          history_path: str | None = None, on_invalid: str = "stop", rejects_dir: str | None = None,
          quiet: bool = False, book_by: str | None = None, book: str | None = None,
          model_path: str | None = None) -> ReportModel:
    """Build and publish the report model of ``period`` (None: the last complete month).

    The history store is only read here; `csreport run` records the period after the
    report was published. With ``book_by`` ("csm" or "segment") and ``book``, the model is that
    book of business's, with the company's figures beside it (no history: see
    :mod:`csreport.model.books`). With ``model_path`` the model was built already (by ``csreport run``
    while this kernel started, or by ``csreport batch`` from one load of the data for every group): it
    is read, not recomputed; the config is still loaded, for the company metrics' labels and units.
    """
    shell = _prepare_kernel()
    if on_invalid not in ("stop", "quarantine"):
        raise ConfigError(f"on_invalid must be 'stop' or 'quarantine', not {on_invalid!r}")
    if model_path:
        model = _prebuilt(ReportModel, model_path, period)
        load_config(config_path)  # registers the config's company metrics: their labels and units in the cells
        reset_shown()  # a new report: the definitions appendix lists what this one shows
        publish(model)
        return model
    started = time.perf_counter()
    with progress.sent_to(jupyter.ProgressLine()) if shell is not None else nullcontext():
        config, month, dataset = _load(period, data_source, config_path, on_invalid, rejects_dir, quiet)
        progress.say(f"computing the metrics of {month.label} ...", quiet)
        targets = targets_for(config, targets_path)
        if book_by:
            model = _book(dataset, month, config, targets, book_by, book)
        else:
            history = History(history_path) if history_path else None
            model = build_model(dataset, month, config, targets, history)
        progress.say(f"{month.label}: data read and metrics computed in {time.perf_counter() - started:.1f} s", quiet)
    reset_shown()  # a new report: the definitions appendix lists what this one shows
    publish(model)
    return model


def start_account(period: str | None, data_source: str, account_id: str, config_path: str | None = None,
                  model_path: str | None = None, quiet: bool = False) -> AccountModel:
    """Build (or, with ``model_path``, read) and publish the account model of one customer."""
    shell = _prepare_kernel()
    if model_path:
        model = _prebuilt(AccountModel, model_path, period)
        publish_account(model)
        return model
    started = time.perf_counter()
    with progress.sent_to(jupyter.ProgressLine()) if shell is not None else nullcontext():
        config, month, dataset = _load(period, data_source, config_path, quiet=quiet)
        if account_id not in set(dataset.accounts["account_id"]):
            raise ConfigError(f"account {account_id!r} is not in the accounts table")
        progress.say(f"computing the account review of {month.label} ...", quiet)
        model = account_models(dataset, month, config).build(account_id)
        progress.say(f"{month.label}: data read and account computed in {time.perf_counter() - started:.1f} s", quiet)
    publish_account(model)
    return model


def _load(period: str | None, data_source: str, config_path: str | None, on_invalid: str = "stop",
          rejects_dir: str | None = None, quiet: bool = False) -> tuple[Config, Period, Dataset]:
    """The config, the month (None: the last complete one) and the validated data."""
    config = load_config(config_path)
    month = Period.parse(period) if period else Period.last_complete(tz=config.timezone)
    dataset = load_dataset(data_source, config, on_invalid="quarantine" if on_invalid == "quarantine" else "stop",
                           rejects_dir=Path(rejects_dir) if rejects_dir else None, quiet=quiet)
    return config, month, dataset


def account_models(dataset: Dataset, month: Period, config: Config,
                   options: ModelOptions | None = None) -> AccountBuilder:
    """The account builder of ``month``: one engine pass for its 12 months (and their health backtests)."""
    from ..model.books import first_month
    from ..model.shared import share_events

    data = share_events(dataset, first_month(month, config, ACCOUNT_MONTHS - 1), month)
    months = month.shift(-(ACCOUNT_MONTHS - 1)).range_to(month)
    return AccountBuilder(Calculator(data, config, months), month, options or ModelOptions())


def _book(dataset: Dataset, month: Period, config: Config, targets: Targets, by: str, name: str | None) -> ReportModel:
    from ..model.books import BookBuilder

    if by not in ("csm", "segment") or not name:
        raise ConfigError(f"book_by must be 'csm' or 'segment' and book a name, not {by!r} and {name!r}")
    return BookBuilder(dataset, month, config, targets, ModelOptions()).build(by, name)  # type: ignore[arg-type]


def _prepare_kernel() -> Any | None:
    shell = jupyter.shell()
    _report_errors_by_class(shell)
    jupyter.setup(shell)
    return shell


def _prebuilt(kind: type[M], model_path: str, period: str | None) -> M:
    """A model ``csreport batch`` built and wrote for this notebook (its JSON), checked to be of ``period``."""
    try:
        model = kind.model_validate(json.loads(Path(model_path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the report model {model_path}: {exc}") from None
    if period and getattr(model, "period", None) != str(Period.parse(period)):
        raise ConfigError(f"{model_path} holds {getattr(model, 'period', None)}, not the period {period}")
    return model


def publish(model: ReportModel) -> None:
    """Display the model so the executed notebook carries it (JSON); Jupyter shows the plain-text line."""
    from IPython.display import display

    summary = (f"Report model for {model.period}: {len(model.metrics)} metrics, {len(model.segments)} segments, "
               f"source fingerprint {model.provenance.fingerprint}")
    display({MODEL_MIME: model.model_dump(mode="json"), "text/plain": summary}, raw=True)


def publish_account(model: AccountModel) -> None:
    """Display the account model so the executed notebook carries it (JSON)."""
    from IPython.display import display

    summary = f"Account model for {model.period}: {model.account.account_id}, source {model.provenance.fingerprint}"
    display({ACCOUNT_MIME: model.model_dump(mode="json"), "text/plain": summary}, raw=True)


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
