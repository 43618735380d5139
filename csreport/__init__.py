"""csreport: the monthly Customer Success report, from raw tables to an executive PDF.

Architecture (one module, one job; data flows left to right)::

    data/ (load + validate) -> metrics/ (pure formulas) -> benchmark (targets, history)
        -> execute (papermill) -> render (nbconvert + WeasyPrint) -> delivery (email)
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("csreport")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

# after __version__: the modules it imports may read it
from .metrics.custom import metric  # @csreport.metric, for a company's metrics file

__all__ = ["__version__", "metric"]
