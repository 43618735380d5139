"""Recording a report model's period in the history store (no pandas: the parent of `csreport run` records)."""
from __future__ import annotations

from ..benchmark.history import ALL, History
from .types import ReportModel, Scope


def record(model: ReportModel, history: History) -> int:
    """Upsert the model's period (all customers and every segment) into the history store."""
    scopes: dict[str, Scope] = {ALL: model} | dict(model.segments)
    values = {name: dict(scope.metrics) for name, scope in scopes.items()}
    stats = {name: {k: (s.n, s.variance) for k, s in scope.stats.items()} for name, scope in scopes.items()}
    return history.write_period(model.period, values, stats, model.provenance.fingerprint)
