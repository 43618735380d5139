"""csreport: the monthly Customer Success report, from raw tables to an executive PDF.

Architecture (one module, one job; data flows left to right)::

    data/ (load + validate) -> metrics/ (pure formulas) -> benchmark (targets, history)
        -> execute (papermill) -> render (nbconvert + WeasyPrint) -> delivery (email)
"""
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .metrics.custom import metric

try:
    __version__ = version("csreport")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__", "metric"]


def __getattr__(name: str) -> Any:
    # @csreport.metric (for a company's metrics file), imported on first use: `csreport --help` and the
    # parent process of `csreport run` never need pandas or DuckDB
    if name == "metric":
        from .metrics.custom import metric

        return metric
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
