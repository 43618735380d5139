"""Recording a report model's period in the history store (no pandas: the parent of `csreport run` records)."""
from __future__ import annotations

from ..benchmark.history import ALL, History
from .types import ReportModel, Scope

# said beside the model's unfinished-month warning by the commands that record
NOT_RECORDED = "It is not recorded in the history: run the month again once it is over."


def record(model: ReportModel, history: History) -> int:
    """Upsert the model's period (all customers and every segment) into the history store; return the rows.

    A month not over yet (``unfinished_as_of``) is not recorded: its values so far would stand for the
    whole month in every later comparison (the next month's MoM, next year's YoY) and trend.
    """
    if model.unfinished_as_of is not None:
        return 0
    scopes: dict[str, Scope] = {ALL: model} | dict(model.segments)
    values = {name: dict(scope.metrics) for name, scope in scopes.items()}
    stats = {name: {k: (s.n, s.variance) for k, s in scope.stats.items()} for name, scope in scopes.items()}
    return history.write_period(model.period, values, stats, model.provenance.fingerprint)
