"""Metric functions (SPEC §3): small, pure, documented with formula and units.

One module per domain; :mod:`csreport.metrics.compute` assembles a period's full set.
"""
from .catalog import BY_KEY, CATALOG, KEYS
from .compute import PeriodMetrics, compute_metrics

__all__ = ["BY_KEY", "CATALOG", "KEYS", "PeriodMetrics", "compute_metrics"]
