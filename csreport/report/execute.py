"""Execute a report notebook with papermill.

Only plain, non-secret values travel as parameters: papermill saves them in the
executed notebook. Secrets stay in the environment, where code that needs them
(email delivery) reads them itself.
"""
from __future__ import annotations

import re
from pathlib import Path

import papermill as pm
from papermill.exceptions import PapermillExecutionError

from ..errors import NotebookError

_SECRET_NAME = re.compile(r"pass(word)?|secret|token|api_?key|credential", re.IGNORECASE)


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
        pm.execute_notebook(
            str(notebook), str(output), parameters=parameters, kernel_name="python3",
            cwd=str(notebook.parent), progress_bar=progress, log_output=False, request_save_on_cell_execute=False,
        )
    except PapermillExecutionError as exc:
        raise NotebookError(
            f"cell {exc.exec_count} of {notebook.name} failed (cell index {exc.cell_index}): {exc.ename}: {exc.evalue}"
        ) from exc
