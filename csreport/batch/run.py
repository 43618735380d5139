"""`csreport batch`: a report for every CSM, segment or account, from one load of the data.

1. The data is loaded and validated once, and the events aggregated in ONE engine pass for
   every month any group needs (:mod:`csreport.model.shared`).
2. The parent builds each group's model (:class:`~csreport.model.books.BookBuilder` or
   :class:`~csreport.model.account.AccountBuilder`, sharing one calculator) and writes it into
   the group's staging folder, then hands the group to a worker.
3. N workers (default: one per core), each with a warm kernel, run the group's notebook with
   papermill (the executive summary for a book, ``account_review`` for an account), reading the
   model the parent wrote, and render HTML and PDF.
4. Everything is staged in a hidden folder; under the period's lock the new ``OUT/P/<by>/``
   replaces the old one in one rename, with ``batch.json`` and ``index.html``. Reports of groups
   not in this batch (``--only``), and the earlier report of a group that failed now, are kept.

A failing group does not stop the others; it is listed with its error, its executed notebook
is kept as ``OUT/P/<by>/<folder>.failed.ipynb``, and the command exits 9 (PartialFailure).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib import resources
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from ..benchmark.targets import Targets, targets_for, warn_unmatched_segments
from ..config import Config, load_config
from ..data import Dataset, load_dataset
from ..errors import CsreportError, PartialFailure
from ..model import ModelOptions
from ..model.account import AccountBuilder
from ..model.books import BookBuilder, BookBy
from ..model.shared import SharedEvents
from ..periods import Period
from ..progress import say
from ..report.execute import kernel_password
from ..report.formatting import period_heading
from ..report.kernel import account_models
from ..report.outputs import ACCOUNT_FILE, METRICS_FILE, group_report_filename, write_health_csv, write_metrics_json
from ..report.publish import period_lock
from ..report.render import report_meta
from ..report.run import _published_paths, absolute_source, packaged_notebook
from .groups import By, Group, find_groups
from .index import Entry, account_headline, book_headline, read_batch, write_batch
from .worker import Outcome, Task, ready, render, start_worker

BOOK_NOTEBOOK = "executive_summary.ipynb"
ACCOUNT_NOTEBOOK = "account_review.ipynb"


@dataclass
class BatchResult:
    folder: Path  # OUT/P/<by>/
    entries: list[Entry]
    engine_passes: int
    without_group: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "failed"]


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def run_batch(data_source: str, period: Period, by: By, out: Path, config_path: Path | None = None,
              only: list[str] | None = None, workers: int | None = None, formats: tuple[str, ...] = ("html", "pdf"),
              targets_path: Path | None = None, on_invalid: str = "stop", quiet: bool = False) -> BatchResult:
    """Render one report per group of ``by``; raise PartialFailure (exit 9) if any group failed."""
    config = load_config(config_path)
    targets = targets_for(config, targets_path)  # a bad targets file stops the batch before anything starts
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    workers = workers or default_workers()
    options = ModelOptions()  # one moment for every book: the index and each report say when the batch was made
    generated_at = options.generated_at
    started = time.perf_counter()
    with ExitStack() as stack:
        stage = Path(tempfile.mkdtemp(prefix=f".{period}-{by}.staging-", dir=out))
        stack.callback(shutil.rmtree, stage, ignore_errors=True)
        os.chmod(stage, 0o755)  # mkdtemp makes 0700; the published folder is read by the team
        pool = stack.enter_context(ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                                       initializer=start_worker,
                                                       initargs=(kernel_password(absolute_source(data_source)),)))
        for _ in range(workers):  # the pool starts a worker per task submitted: start them all now, so their
            pool.submit(ready)    # kernels and renderers get ready while the parent loads the data
        dataset = load_dataset(data_source, config, on_invalid="quarantine" if on_invalid == "quarantine" else "stop",
                               rejects_dir=stage / "rejects", quiet=quiet)
        if by != "account":  # account reviews grade nothing against targets
            warn_unmatched_segments(targets, dataset.segment_names())
        groups, without_group = find_groups(dataset.accounts, by, only)
        say(f"{len(groups)} {by} report(s) for {period} on {workers} worker(s) ...", quiet)
        notebook = stack.enter_context(resources.as_file(packaged_notebook(
            ACCOUNT_NOTEBOOK if by == "account" else BOOK_NOTEBOOK)))
        planner = _Planner(dataset, period, by, config, config_path, targets_path, targets, data_source, options,
                           stage, notebook, formats)
        entries, futures = {}, {}
        for group in groups:
            entry, task = planner.plan(group)
            entries[group.key] = entry
            if task is not None:
                futures[pool.submit(render, task)] = group
        for done, future in enumerate(_as_done(futures), start=1):
            group = futures[future]
            outcome = _outcome(future, group)
            _settle(entries[group.key], outcome, stage, group)
            state = "ok" if outcome.ok else f"FAILED: {outcome.error}"
            say(f"[{done}/{len(futures)}] {group.label}: {state} ({outcome.seconds:.1f} s)", quiet)
        for entry in entries.values():
            if entry.status == "failed" and entry.key not in {g.key for g in futures.values()}:
                say(f"{entry.label}: FAILED: {entry.error}", quiet)
        ordered = [entries[g.key] for g in groups]
        passes = planner.engine_passes()
        heading = period_heading(period, period.unfinished_on(options.made_at, config.timezone))
        final = publish(stage, out, period, by, ordered, without_group, generated_at, passes, heading)
    result = BatchResult(final, ordered, passes, without_group)
    say(f"{len(ordered) - len(result.failed)} of {len(ordered)} reports in {time.perf_counter() - started:.1f} s "
        f"(one data load, {passes} engine pass{'es' if passes != 1 else ''}): {final / 'index.html'}", quiet)
    if result.failed:
        names = ", ".join(e.label for e in result.failed[:10])
        others = "none was published" if len(result.failed) == len(ordered) else f"the others are published in {final}"
        raise PartialFailure(f"{len(result.failed)} of {len(ordered)} {by} reports failed ({names}"
                             f"{', ...' if len(result.failed) > 10 else ''}); {others}, "
                             f"and {final / 'index.html'} lists each failure with its error")
    return result


class _Planner:
    """Builds each group's model in the parent (from the one load) and the worker task that renders it."""

    def __init__(self, dataset: Dataset, period: Period, by: By, config: Config, config_path: Path | None,
                 targets_path: Path | None, targets: Targets, data_source: str, options: ModelOptions, stage: Path,
                 notebook: Path, formats: tuple[str, ...]):
        self.period, self.by, self.config, self.stage, self.notebook = period, by, config, stage, notebook
        self.formats = formats
        self.generated_at = options.generated_at
        self.final = stage.parent / str(period) / by
        self.base = {"period": str(period), "data_source": absolute_source(data_source),
                     "config_path": str(config_path.resolve()) if config_path else None}
        self.targets_path = targets_path
        self.table = dataset.accounts
        self.books: BookBuilder | None = None
        self.accounts: AccountBuilder | None = None
        if by == "account":
            self.accounts = account_models(dataset, period, config, options)
        else:
            self.books = BookBuilder(dataset, period, config, targets, options)

    def engine_passes(self) -> int:
        """Event queries the engine answered for this batch (0 without an events table)."""
        builder = self.accounts if self.accounts is not None else self.books
        events = builder.data.events if builder is not None else None
        return events.passes if isinstance(events, SharedEvents) else 0

    def plan(self, group: Group) -> tuple[Entry, Task | None]:
        folder = self.stage / group.folder
        folder.mkdir()
        files = {fmt: group_report_filename(self.period, self.by, group.folder, fmt) for fmt in self.formats}
        files["notebook"] = group_report_filename(self.period, self.by, group.folder, "ipynb")
        entry = Entry(key=group.key, label=group.label, folder=group.folder, status="ok",
                      generated_at=self.generated_at, files=files)
        try:
            parameters, meta = self._model(group, folder, entry)
        except CsreportError as exc:  # e.g. a company metric failing for this book: this group fails, not the batch
            entry.status, entry.error, entry.exit_code = "failed", str(exc), exc.exit_code
            shutil.rmtree(folder, ignore_errors=True)
            return entry, None
        return entry, Task(key=group.key, notebook=str(self.notebook), folder=str(folder),
                           executed=files["notebook"], parameters=parameters, meta=meta,
                           files={k: v for k, v in files.items() if k in ("html", "pdf")})

    def _model(self, group: Group, folder: Path, entry: Entry) -> tuple[dict[str, Any], dict[str, Any]]:
        if self.accounts is not None:
            account = self.accounts.build(group.key)
            path = folder / ACCOUNT_FILE
            path.write_text(account.model_dump_json(indent=1), encoding="utf-8")
            entry.files["model"] = ACCOUNT_FILE
            entry.headline = account_headline(account)
            meta = report_meta(None, self.config, self.period)
            meta.update(title=f"Account review: {account.account.name}", fingerprint=account.provenance.fingerprint,
                        period_label=period_heading(self.period, account.unfinished_as_of),
                        source_kind=account.provenance.source_kind, generated_at=account.provenance.generated_at)
            return {**self.base, "account_id": group.key, "model_path": str(path)}, meta
        assert self.books is not None
        by: BookBy = "csm" if self.by == "csm" else "segment"
        model = self.books.build(by, group.key, set(group.accounts))
        model = _published_paths(model, self.stage, self.final)  # rejects files: named where they are published
        write_metrics_json(model, folder)
        write_health_csv(model, folder)
        entry.files["model"] = METRICS_FILE
        entry.headline = book_headline(model)
        if by == "csm" and "csm_email" in self.table:  # where `email --batch` sends the book
            addresses = self.table.loc[self.table["account_id"].isin(group.accounts), "csm_email"].dropna()
            entry.recipients = sorted({a.strip() for a in addresses.astype(str) if a.strip()})
        meta = report_meta(model, self.config, self.period)
        meta["title"] = f"{model.settings.title}: {'CSM' if by == 'csm' else 'segment'} {group.label}"
        parameters = {**self.base, "targets_path": str(self.targets_path.resolve()) if self.targets_path else None,
                      "history_path": None, "on_invalid": "stop", "rejects_dir": None, "book_by": by,
                      "book": group.key, "model_path": str(folder / METRICS_FILE)}
        return parameters, meta


def _as_done(futures: dict[Future[Outcome], Group]) -> Iterator[Future[Outcome]]:
    pending = set(futures)
    while pending:
        done, pending = wait_for(pending, return_when="FIRST_COMPLETED")
        yield from done


def _outcome(future: Future[Outcome], group: Group) -> Outcome:
    try:
        return future.result()
    except Exception as exc:  # the worker process itself died (BrokenProcessPool, ...)
        return Outcome(group.key, False, 0.0, f"the worker process failed: {type(exc).__name__}: {exc}", 1)


def _settle(entry: Entry, outcome: Outcome, stage: Path, group: Group) -> None:
    """Record a group's outcome; a failed group leaves its executed notebook beside the folders, nothing else."""
    if outcome.ok:
        return
    entry.status, entry.error, entry.exit_code = "failed", outcome.error, outcome.exit_code
    executed = stage / group.folder / entry.files["notebook"]
    if executed.exists():
        failed = stage / f"{group.folder}.failed.ipynb"
        executed.rename(failed)
        entry.failed_notebook = failed.name
    shutil.rmtree(stage / group.folder, ignore_errors=True)


def _swap(stage: Path, final: Path) -> None:
    """``stage`` becomes ``final`` in one rename; the folder it replaces is removed afterwards."""
    old = final.with_name(f".{final.name}.old-{time.time_ns()}") if final.exists() else None
    if old is not None:
        final.rename(old)
    stage.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def publish(stage: Path, out: Path, period: Period, by: str, entries: list[Entry], without_group: list[str],
            generated_at: str, engine_passes: int, heading: str | None = None) -> Path:
    """Move the staged batch into OUT/P/<by>/ in one rename, keeping what this batch did not replace.
    ``heading``: the index's month ('November 2026 (to 25 November)'; default: the month's label)."""
    final = out / str(period) / by
    with period_lock(out, period):
        final.parent.mkdir(parents=True, exist_ok=True)
        keys = {e.key: e for e in entries}
        kept = []
        for earlier in read_batch(final):
            now = keys.get(earlier.key)
            if now is not None and now.status == "ok":
                continue
            source = final / earlier.folder
            # its report: its own (ok), or the one an earlier batch made, kept when it failed (files still listed)
            if earlier.files and source.is_dir():
                # reports are immutable once published: hard links share them instead of copying
                shutil.copytree(source, stage / earlier.folder, copy_function=os.link)
                if now is not None:  # the row shows the kept report, its figures and when it was made
                    now.earlier = earlier.generated_at if earlier.status == "ok" else earlier.earlier
                    now.files, now.headline = earlier.files, earlier.headline
            if now is None:
                if earlier.failed_notebook and (final / earlier.failed_notebook).exists():
                    os.link(final / earlier.failed_notebook, stage / earlier.failed_notebook)
                kept.append(earlier)
        ordered = sorted(entries + kept, key=lambda e: (e.label.casefold(), e.key))
        write_batch(stage, period, by, ordered, without_group, generated_at, engine_passes, heading)
        _swap(stage, final)
    return final
