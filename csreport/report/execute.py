"""Execute a report notebook with papermill, and read what it produced.

Only plain, non-secret values travel as parameters: papermill saves them in the
executed notebook. The kernel starts with an allow-listed environment, so secrets
such as SMTP passwords or cloud tokens never reach a cell that prints ``os.environ``.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import papermill as pm
from papermill.exceptions import PapermillExecutionError

from ..errors import CsreportError, NotebookError
from ..model import ReportModel
from .protocol import ERROR_MIME, MODEL_MIME

_SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|credential", re.IGNORECASE)
# what the kernel may inherit: locale, paths, the Python environment, and engine settings without secrets
_ALLOWED_ENV = re.compile(
    r"^(PATH|HOME|USER|LOGNAME|SHELL|LANG|LANGUAGE|LC_\w+|TZ|TMPDIR|TEMP|TMP|PYTHONPATH|PYTHONHASHSEED|VIRTUAL_ENV|"
    r"JUPYTER_\w+|IPYTHONDIR|MPLCONFIGDIR|MPLBACKEND|XDG_\w+|JAVA_HOME|SPARK_HOME|SPARK_MASTER|PYSPARK_\w+|"
    r"HADOOP_CONF_DIR|PGHOST|PGPORT|PGUSER|PGDATABASE|PGPASSFILE|PGSSLMODE|PGSERVICE|PGSERVICEFILE|"
    r"CSREPORT_(?!SMTP_)\w+)$"
)
# papermill adds these cells to its output; they are not counted when naming a failed cell
_ADDED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def kernel_env() -> dict[str, str]:
    """The variables a kernel may inherit: allow-listed, and never anything that looks like a secret."""
    return {k: v for k, v in os.environ.items() if _ALLOWED_ENV.match(k) and not _SECRET_NAME.search(k)}


def kernel_password(data_source: str | None) -> str | None:
    """The PostgreSQL password the kernel needs: PGPASSWORD when the notebook's data source is a PostgreSQL
    URL, else None. A password is written to disk (a private pgpass file) only for a source that needs it."""
    if data_source is None or "://" not in data_source:
        return None
    from ..data.postgres import is_url

    if not is_url(data_source):
        return None
    return os.environ.get("PGPASSWORD") or None


KERNEL_FOLDER_PREFIX = "csreport-kernel-"


def kernel_folder() -> Path:
    """A new private folder (mode 0700) for a kernel's sockets and pgpass file, named after this process.

    A run killed with SIGKILL cannot remove its folder, nor the pgpass file of a PostgreSQL source in it:
    each new folder's maker first removes the folders of processes that are gone.
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{KERNEL_FOLDER_PREFIX}*-*"):
        pid = folder.name.removeprefix(KERNEL_FOLDER_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _running(int(pid)) and _owned(folder):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{KERNEL_FOLDER_PREFIX}{os.getpid()}-"))


def _owned(folder: Path) -> bool:
    """Whether this user owns ``folder`` (False once it is gone: another run may have just removed it)."""
    try:
        return folder.lstat().st_uid == os.getuid()
    except OSError:
        return False


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def _kernel_environment(password: str | None) -> Iterator[None]:
    """Start the kernel with only allow-listed variables (and never anything that looks like a secret).

    A PostgreSQL source needs its password inside the kernel (:func:`kernel_password`). It goes there the
    way libpq reads it from a file: a private pgpass file (mode 0600, outside the report folder, deleted
    afterwards) named by PGPASSFILE, so the password is never in the kernel's environment.
    """
    saved = dict(os.environ)
    kept = kernel_env()
    private = kernel_folder()
    try:
        if password:
            kept["PGPASSFILE"] = _pgpass_file(private, password)
        os.environ.clear()
        os.environ.update(kept)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(private, ignore_errors=True)


def _pgpass_file(folder: Path, password: str) -> str:
    """A pgpass file that gives ``password`` for any host, port, database and user (libpq format)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    path = folder / "pgpass"
    path.touch(mode=0o600)
    path.write_text(f"*:*:*:*:{escaped}\n", encoding="utf-8")
    return str(path)


def check_parameters(parameters: dict[str, Any]) -> None:
    """Refuse anything that looks like a secret: it would be written into the executed notebook."""
    for name in parameters:
        if _SECRET_NAME.search(name):
            raise NotebookError(f"parameter {name!r} looks like a secret; secrets must come from the environment, "
                                "never as notebook parameters (papermill saves them in the output notebook)")


def _kernel_manager_class() -> type:
    from jupyter_client.manager import KernelManager

    class LocalKernelManager(KernelManager):
        """Talks to the kernel over local IPC sockets: nothing listens on TCP, nothing to encrypt.

        At shutdown jupyter_client interrupts the kernel (SIGINT) before stopping it, even when it
        kills it at once; a kernel caught inside a message handler then logs "KeyboardInterrupt
        caught in kernel" to the terminal or cron log. Our kernels are idle by then (every cell
        finished or failed), so the interrupt is left out: the kernel is stopped (``csreport run``
        kills it immediately once the outputs are in; a shutdown request that is not obeyed is
        followed by a kill after the wait).
        """

        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return LocalKernelManager


def execute_notebook(notebook: Path, output: Path, parameters: dict[str, Any], progress: bool = True) -> None:
    """Run ``notebook`` top to bottom into ``output`` (cwd: the output's folder).

    A cell that raised a CsreportError re-raises its class here (bad data exits 3, a bad
    history store 7, ...); any other failure is a :class:`NotebookError` naming the cell.
    """
    check_parameters(parameters)
    try:
        with _kernel_environment(kernel_password(parameters.get("data_source"))):
            pm.execute_notebook(
                # language: the kernel is Python whatever the notebook's metadata says (a hand-written notebook
                # may have none, and papermill needs one to write the parameters cell)
                str(notebook), str(output), parameters=parameters, kernel_name="python3", language="python",
                cwd=str(output.parent), progress_bar=progress, log_output=False,
                request_save_on_cell_execute=False, kernel_manager_class=_kernel_manager_class(),
                # every output is in the notebook by then: stop the kernel at once rather than asking it to
                # shut down and waiting for it (nbclient's "graceful" default costs ~0.3-0.5 s; the kernel only
                # ever read the history store, so it has nothing to flush)
                shutdown_kernel="immediate",
            )
    except PapermillExecutionError as exc:
        raise failure(output, notebook.name, exc.ename, exc.evalue) from None


def _cells(executed: Path | nbformat.NotebookNode) -> list[Any]:
    notebook = nbformat.read(str(executed), as_version=4) if isinstance(executed, Path) else executed
    return [c for c in notebook.cells if not _ADDED_TAGS & set(c.metadata.get("tags", []))]


def failure(executed: Path, name: str, ename: str, evalue: str) -> CsreportError:
    """The error a failed notebook stands for: the CsreportError class a cell raised, else NotebookError."""
    cells = _cells(executed) if executed.exists() else []
    for number, cell in enumerate(cells, start=1):
        outputs = cell.get("outputs", [])
        if not any(o.get("output_type") == "error" for o in outputs):
            continue
        for output in outputs:
            structured = output.get("data", {}).get(ERROR_MIME)
            if structured:
                return _error_class(structured)(structured["message"])
        source = cell.source.strip()
        first_line = source.splitlines()[0][:80] if source else ""
        return NotebookError(f'cell {number} of {name} ("{first_line}") failed: {ename}: {evalue}',
                             cell_number=number, first_line=first_line, exception_type=ename,
                             exception_message=evalue)
    return NotebookError(f"a cell of {name} failed: {ename}: {evalue}", exception_type=ename,
                         exception_message=evalue)


def _error_class(structured: dict[str, Any]) -> type[CsreportError]:
    """The csreport error class a kernel reported: the class itself if it is one of ours, else its exit code's."""
    try:
        found = getattr(importlib.import_module(structured["module"]), structured["class"])
        if isinstance(found, type) and issubclass(found, CsreportError):
            return _documented_base(found)
    except (ImportError, AttributeError, KeyError):
        pass
    return NotebookError


def _documented_base(cls: type[CsreportError]) -> type[CsreportError]:
    """The class of csreport.errors that ``cls`` derives from (InvalidDataError -> DataError)."""
    from .. import errors

    for base in cls.__mro__:
        if base.__module__ == errors.__name__ and issubclass(base, CsreportError):
            return base
    return CsreportError


def read_model(executed: Path | nbformat.NotebookNode) -> ReportModel | None:
    """The report model the notebook published (the last one, if a cell published it again), or None.

    ``executed``: the executed notebook's file, or the notebook already read (``csreport run`` reads it once
    for the model and the HTML)."""
    found = None
    for cell in _cells(executed):
        for output in cell.get("outputs", []):
            document = output.get("data", {}).get(MODEL_MIME)
            if document is not None:
                found = document
    return None if found is None else ReportModel.from_document(found)
