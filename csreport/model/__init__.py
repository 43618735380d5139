"""The report model: one typed, immutable object per period holding every number a report shows.

``build_model`` decides the numbers (metrics, targets, comparisons, trends, restatements);
everything downstream (metrics.json, the notebook, HTML, PDF, email, history) reads them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import record
from .types import ReportModel

if TYPE_CHECKING:
    from .build import Calculator, ModelOptions, build_model

__all__ = ["Calculator", "ModelOptions", "ReportModel", "build_model", "record"]


def __getattr__(name: str) -> Any:
    # building (pandas, DuckDB) is imported on first use; reading a model needs the types alone
    if name in ("Calculator", "ModelOptions", "build_model"):
        from . import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
