"""Execute a report notebook with papermill.

Only plain, non-secret values travel as parameters: papermill saves them in the
executed notebook. Secrets stay in the environment, where code that needs them
(email delivery) reads them itself.
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

import nbformat
import papermill as pm
from papermill.exceptions import PapermillExecutionError

from ..errors import ConfigError, DataError, NotebookError

_SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|credential", re.IGNORECASE)


@contextmanager
def _secrets_withheld():
    """Start the kernel without csreport's secrets in its environment (defence in depth:
    a notebook cell that prints os.environ cannot leak the SMTP password into the report)."""
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("CSREPORT_") and _SECRET_NAME.search(k)}
    try:
        yield
    finally:
        os.environ.update(hidden)


def check_parameters(parameters: dict) -> None:
    """Refuse anything that looks like a secret: it would be written into the executed notebook."""
    for name in parameters:
        if _SECRET_NAME.search(name):
            raise NotebookError(f"parameter {name!r} looks like a secret; secrets must come from the environment, "
                                "never as notebook parameters (papermill saves them in the output notebook)")


def execute_notebook(notebook: Path, output: Path, parameters: dict, progress: bool = True) -> None:
    """Run ``notebook`` top to bottom into ``output``; a failing cell raises NotebookError naming it."""
    check_parameters(parameters)
    try:
        with _secrets_withheld():
            pm.execute_notebook(
                str(notebook), str(output), parameters=parameters, kernel_name="python3",
                cwd=str(notebook.parent), progress_bar=progress, log_output=False,
                request_save_on_cell_execute=False,
            )
    except PapermillExecutionError as exc:
        # bad input or config found inside the notebook keeps its own exit code (3 or 2)
        kind = {"InvalidDataError": DataError, "DataError": DataError, "ConfigError": ConfigError}.get(exc.ename)
        if kind is not None:
            raise kind(exc.evalue) from exc
        where = _describe_cell(output, notebook.name)
        raise NotebookError(f"{where} failed: {exc.ename}: {exc.evalue}") from exc


def _describe_cell(executed: Path, name: str) -> str:
    """'cell 3 of report.ipynb ("first line")', numbered as in the source notebook.

    Papermill adds cells to its output (the injected parameters, error banners);
    they are skipped so the number matches what the analyst sees in Jupyter.
    """
    added = {"injected-parameters", "papermill-error-cell-tag"}
    cells = [c for c in nbformat.read(str(executed), as_version=4).cells
             if not added & set(c.metadata.get("tags", []))]
    for number, cell in enumerate(cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            source = cell.source.strip()
            return f'cell {number} of {name} ("{source.splitlines()[0][:80] if source else ""}")'
    return f"a cell of {name}"
