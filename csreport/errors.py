"""One small exception hierarchy. Every error says what is wrong and how to fix it.

The ``exit_code`` of each class is what the command line returns, so a
scheduler (cron, Airflow, ...) can tell bad input from a broken notebook.
"""
from __future__ import annotations


class CsreportError(Exception):
    """Base class of every error csreport raises on purpose."""

    exit_code = 1


class ConfigError(CsreportError):
    """The config or targets file is missing, unreadable or invalid."""

    exit_code = 2


class DataError(CsreportError):
    """The input data is missing or invalid (SPEC §1)."""

    exit_code = 3


class NotebookError(CsreportError):
    """A report notebook failed while executing.

    The fields say where: the cell's number as the analyst sees it in Jupyter (papermill's
    own added cells not counted), its first line, and the exception the cell raised.
    """

    exit_code = 4

    def __init__(self, message: str, cell_number: int | None = None, first_line: str | None = None,
                 exception_type: str | None = None, exception_message: str | None = None):
        super().__init__(message)
        self.cell_number = cell_number
        self.first_line = first_line
        self.exception_type = exception_type
        self.exception_message = exception_message


class RenderError(CsreportError):
    """HTML or PDF rendering failed."""

    exit_code = 5


class DeliveryError(CsreportError):
    """The report could not be emailed."""

    exit_code = 6


class HistoryError(CsreportError):
    """The history store could not be read or written."""

    exit_code = 7


class MetricError(CsreportError):
    """A company metric (the config's ``metrics_module``) raised an error or returned something that is not a number.

    The message names the metric's key, its function and file, the period and scope, and the exception.
    """

    exit_code = 8


class PartialFailure(CsreportError):
    """Some groups of a batch failed; the others were rendered and published (``csreport batch``)."""

    exit_code = 9
