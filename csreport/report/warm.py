"""Warm kernels: many papermill executions in one kernel, each a clean start.

Starting a kernel and importing csreport's stack (pandas, matplotlib, pydantic) costs
seconds; a report of one account takes less. ``csreport batch`` therefore keeps one kernel per
worker and runs notebook after notebook in it through papermill, with a custom engine
(:class:`WarmEngine`) that hands papermill's notebook client the running kernel and its
client instead of starting (and, at the end, shutting down) a new one — the way papermill's
maintainers suggest for reusing a kernel (nteract/papermill#326, #616).

Each execution is still a papermill run of the notebook with its parameters. Before it, the
kernel's namespace is reset (``InteractiveShell.reset``: no variable of the previous report
survives, the cell counter restarts at 1) and its working directory set to the report's
folder; imported modules stay loaded, which is the point.

Like ``csreport run``'s kernels, a warm kernel starts with the allow-listed environment only
and talks over local IPC sockets (in a private folder of the worker).
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import papermill as pm
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError

from ..errors import NotebookError
from .execute import _kernel_manager_class, _pgpass_file, check_parameters, failure, kernel_env, kernel_folder

ENGINE = "csreport-warm"
STARTUP_TIMEOUT = 60.0
# IPython keeps no history file for these kernels (as nbclient does for the kernels it starts)
_KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]
_RESET = """get_ipython().reset(new_session=True)
import os as _os, sys as _sys
_os.chdir({cwd!r})
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
del _os, _sys
"""


class WarmKernel:
    """One running Python kernel and its client, reused for many notebooks."""

    def __init__(self, kernel_name: str = "python3", password: str | None = None):
        """``password``: the data source's PostgreSQL password (:func:`csreport.report.execute.kernel_password`)."""
        self.folder = kernel_folder()
        self.kernel_name = kernel_name
        self._password = password
        self.km: Any = None
        self.kc: Any = None
        self.executions = 0
        self.start()

    def start(self) -> None:
        km = _kernel_manager_class()(kernel_name=self.kernel_name)
        km.ip = str(self.folder / "ipc")  # IPC transport: the socket files live in our private folder
        env = kernel_env()
        if self._password:  # as execute_notebook does: a private pgpass file, never the variable
            env["PGPASSFILE"] = _pgpass_file(self.folder, self._password)
        km.start_kernel(extra_arguments=_KERNEL_ARGUMENTS, env=env, cwd=str(self.folder))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        except RuntimeError:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
            raise
        kc.allow_stdin = False
        self.km, self.kc = km, kc

    def run_quietly(self, code: str) -> None:
        """Run ``code`` in the kernel, outside any notebook (e.g. imports ahead of the first notebook)."""
        reply = self.kc.execute_interactive(code, timeout=STARTUP_TIMEOUT, store_history=False,
                                            output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise NotebookError(f"the kernel could not run {code!r}: {reply['content'].get('evalue', '')}")

    def prepare(self, cwd: Path) -> None:
        """A clean namespace and ``cwd`` as working directory for the next notebook (restarts a dead kernel)."""
        if not self.km.is_alive():
            self.stop()
            self.start()
        reply = self.kc.execute_interactive(_RESET.format(cwd=str(cwd)), timeout=STARTUP_TIMEOUT, store_history=False,
                                            output_hook=lambda message: None)
        if reply["content"]["status"] != "ok":
            raise NotebookError(f"could not reset the warm kernel: {reply['content'].get('evalue', '')}")

    def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        self.km = self.kc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class WarmEngine(NBClientEngine):
    """papermill's nbclient engine, on a kernel that is already running (``warm_kernel=``) and stays so."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: int | None = None, **kwargs: Any) -> Any:
        kernel: WarmKernel = kwargs["warm_kernel"]
        client = PapermillNotebookClient(nb_man, km=kernel.km, timeout=execution_timeout,
                                         startup_timeout=start_timeout, kernel_name=kernel_name,
                                         log=logging.getLogger("papermill"), log_output=log_output,
                                         stdout_file=stdout_file, stderr_file=stderr_file)
        client.kc = kernel.kc  # the warm client: no new channels, and nothing shut down afterwards
        return client.execute()


papermill_engines.register(ENGINE, WarmEngine)


def execute_warm(notebook: Path, output: Path, parameters: dict[str, Any], kernel: WarmKernel,
                 progress: bool = False) -> None:
    """Run ``notebook`` top to bottom into ``output`` in ``kernel`` (cwd: the output's folder).

    Errors as :func:`csreport.report.execute.execute_notebook` gives them: a cell's CsreportError
    class, else a NotebookError naming the cell.
    """
    check_parameters(parameters)
    kernel.prepare(output.parent)
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=parameters, engine_name=ENGINE,
                            kernel_name=kernel.kernel_name, language="python", progress_bar=progress, log_output=False,
                            request_save_on_cell_execute=False, warm_kernel=kernel)
    except PapermillExecutionError as exc:
        raise failure(output, notebook.name, exc.ename, exc.evalue) from None
    finally:
        kernel.executions += 1
