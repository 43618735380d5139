"""Metric functions (SPEC §3): small, pure, documented with formula and units.

One module per domain; :mod:`csreport.metrics.compute` assembles a period's full set.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .catalog import BY_KEY, CATALOG, KEYS

if TYPE_CHECKING:
    from .compute import PeriodMetrics, compute_metrics

__all__ = ["BY_KEY", "CATALOG", "KEYS", "PeriodMetrics", "compute_metrics"]


def __getattr__(name: str) -> Any:
    # the formulas (pandas) are imported on first use: the catalog alone stays light
    if name in ("PeriodMetrics", "compute_metrics"):
        from . import compute

        return getattr(compute, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
