"""csreport: the monthly Customer Success report, from raw tables to an executive PDF.

Architecture (one module, one job; data flows left to right)::

    data/ (load + validate) -> metrics/ (pure formulas) -> benchmark (targets, history)
        -> execute (papermill) -> render (nbconvert + WeasyPrint) -> delivery (email)
"""
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .metrics.custom import metric

# the one place the version is written (pyproject.toml reads it from here): asking the installed package's
# metadata instead cost every process ~50 ms (importlib.metadata scans site-packages)
__version__ = "0.1.0"

__all__ = ["__version__", "metric"]


def __getattr__(name: str) -> Any:
    # @csreport.metric (for a company's metrics file), imported on first use: `csreport --help` and the
    # parent process of `csreport run` never need pandas or DuckDB
    if name == "metric":
        from .metrics.custom import metric

        return metric
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
