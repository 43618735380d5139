"""The report model: one typed, immutable object per period holding every number a report shows.

``build_model`` decides the numbers (metrics, targets, comparisons, trends, restatements);
everything downstream (metrics.json, the notebook, HTML, PDF, email, history) reads them.
"""
from .build import Calculator, ModelOptions, build_model, record
from .types import ReportModel

__all__ = ["Calculator", "ModelOptions", "ReportModel", "build_model", "record"]
