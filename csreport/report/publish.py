"""Publishing a report folder and recording its history as one step that a kill cannot split.

``OUT/YYYY-MM/`` is replaced by a finished staging folder in two renames (old report aside,
new one in place), then the period is recorded in the history store. Under one lock per output
folder and period (``OUT/.YYYY-MM.lock``) that step runs alone, and a run that was killed half-way
is repaired by the next run of the period (:func:`recover`):

* killed between the two renames: ``OUT/YYYY-MM`` is missing and the old report waits in
  ``OUT/.YYYY-MM.old-*``: it is put back;
* killed after publishing but before recording: the published folder still holds the marker
  ``.csreport-unrecorded`` (naming the history store): its ``metrics.json`` is recorded then;
* leftover ``.YYYY-MM.old-*`` and ``.YYYY-MM.staging-*`` folders of killed runs are removed.
"""
from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..benchmark.history import History
from ..errors import CsreportError
from ..model import ReportModel, record
from ..periods import Period
from ..progress import say

UNRECORDED = ".csreport-unrecorded"  # in a published folder whose history is not recorded yet
# `csreport batch` publishes OUT/YYYY-MM/<by>/ inside the period's folder: a new company report keeps them
BATCH_FOLDERS = ("csm", "segment", "account")


@contextmanager
def period_lock(out: Path, period: Period) -> Iterator[None]:
    """One `csreport run` at a time per output folder and period (others wait)."""
    lock_file = out / f".{period}.lock"
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def staging_prefix(period: Period) -> str:
    return f".{period}.staging-"


def recover(out: Path, period: Period) -> None:
    """Repair what a killed run of ``period`` left in ``out`` (call under :func:`period_lock`)."""
    final = out / str(period)
    olds = sorted(out.glob(f".{period}.old-*"), key=_moved_at)
    if not final.exists() and olds:
        newest = olds.pop()
        newest.rename(final)
        say(f"restored {final} from {newest.name}: an earlier run was stopped while replacing it")
    for leftover in olds + sorted(out.glob(f"{staging_prefix(period)}*")):
        shutil.rmtree(leftover, ignore_errors=True)
    marker = final / UNRECORDED
    if marker.is_file():
        _record_published(final, marker)


def _moved_at(old: Path) -> int:
    """When a report was moved aside (the nanoseconds in '.YYYY-MM.old-<ns>'); the newest is put back."""
    stamp = old.name.rsplit("-", 1)[-1]
    return int(stamp) if stamp.isdigit() else -1


def _record_published(final: Path, marker: Path) -> None:
    """Record a published report whose run was stopped before it recorded the history."""
    try:
        history = History(Path(marker.read_text(encoding="utf-8").strip()))
        model = ReportModel.from_document(json.loads((final / "metrics.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        say(f"warning: {final} was published but its history was never recorded, and it cannot be now ({exc}); "
            "rerun 'csreport run' for this period")
        return
    record(model, history)
    marker.unlink()
    say(f"recorded {final.name} in {history.path}: an earlier run was stopped after publishing it")


def publish_and_record(stage: Path, final: Path, model: ReportModel | None, history: History) -> None:
    """Swap the finished staging folder into place, then record history; undo the swap if recording fails.

    Call under :func:`period_lock`. A kill at any point leaves what :func:`recover` repairs.
    """
    marker = stage / UNRECORDED
    if model is not None:
        marker.write_text(str(history.path.resolve()) + "\n", encoding="utf-8")
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{time.time_ns()}")
        final.rename(old)
        _move_batches(old, stage)
    stage.rename(final)
    if model is not None:
        try:
            record(model, history)
        except CsreportError:
            final.rename(stage)  # the staging folder is removed by the caller
            if old is not None:
                _move_batches(stage, old)
                old.rename(final)
            raise
        (final / UNRECORDED).unlink()
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _move_batches(source: Path, target: Path) -> None:
    for name in BATCH_FOLDERS:
        if (source / name).is_dir() and not (target / name).exists():
            (source / name).rename(target / name)
