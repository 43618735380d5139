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
    """A report notebook failed while executing."""

    exit_code = 4


class RenderError(CsreportError):
    """HTML or PDF rendering failed."""

    exit_code = 5


class DeliveryError(CsreportError):
    """The report could not be emailed."""

    exit_code = 6


class HistoryError(CsreportError):
    """The history store could not be read or written."""

    exit_code = 7
