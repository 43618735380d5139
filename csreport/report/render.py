"""Render an executed notebook to HTML (nbconvert + our template) and PDF (WeasyPrint).

The template ships inside the package (``csreport/templates/csreport``) and extends
nbconvert's base templates; the PDF is printed from that same HTML, so both always agree.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import multiprocessing
import signal
import warnings
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import nbformat

from .. import __version__
from ..config import Config
from ..errors import RenderError
from ..model import ReportModel
from ..periods import Period
from ..text import inert
from . import style
from .formatting import period_heading
from .html import without_jupyter_style

DEFAULT_RENDER_TIMEOUT_S = 300.0


def report_meta(model: ReportModel | None, config: Config, period: Period) -> dict[str, Any]:
    """The header and footer fields of the template: from the model, or the config for a notebook without one."""
    settings = model.settings if model is not None else config.report
    provenance = model.provenance if model is not None else None
    unfinished_as_of = model.unfinished_as_of if model is not None else None
    return {"period": str(period), "period_label": period_heading(period, unfinished_as_of),
            "company": settings.company, "title": settings.title, "paper": settings.paper, "version": __version__,
            "fingerprint": provenance.fingerprint if provenance else "n/a",
            "source_kind": provenance.source_kind if provenance else "",
            "generated_at": provenance.generated_at if provenance else "", "palette_css": style.css_root(),
            "unavailable": list(model.unavailable) if model is not None else []}


def to_html(executed: Path | nbformat.NotebookNode, meta: dict[str, Any]) -> str:
    """The report page of an executed notebook (its file, or the notebook already read)."""
    from nbconvert import HTMLExporter  # imported late: `csreport run` warms it up while the notebook executes

    with ExitStack() as stack:
        templates = stack.enter_context(resources.as_file(resources.files("csreport") / "templates"))
        exporter = HTMLExporter(template_name="csreport", extra_template_basedirs=[str(templates)],
                                filters={"without_jupyter_style": without_jupyter_style})
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        notebook = nbformat.read(str(executed), as_version=4) if isinstance(executed, Path) else executed
        html, _ = exporter.from_notebook_node(_shown_cells(notebook), resources={"csreport": meta})
    # no bidirectional override anywhere in the report (names, config text, charts, analysts' cells)
    return inert(str(html))


def _shown_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without its ``report-exclude`` cells, which the template leaves out anyway: nbconvert
    copies the notebook it is given, and the first code cell's output alone is the whole report model."""
    shown = copy.copy(notebook)
    shown.cells = [cell for cell in notebook.cells if "report-exclude" not in cell.metadata.get("tags", [])]
    return shown


def _quiet_pdf_engine() -> None:
    """WeasyPrint's advice about optional system libraries (HarfBuzz-Subset) is not a report problem:
    keep it out of cron logs. Real errors still raise."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)


def to_pdf(html: str, target: Path, base_url: Path, timeout_s: float = DEFAULT_RENDER_TIMEOUT_S) -> None:
    """Print ``html`` to ``target`` with WeasyPrint, in a child process stopped after ``timeout_s`` seconds.

    The report's untrusted text is bounded (csreport.text), so a normal report prints in seconds; the
    time limit is the last guard, so that no input can keep the monthly run busy for hours.
    """
    _quiet_pdf_engine()
    try:
        import weasyprint  # noqa: F401  (loaded here so that a missing system library is reported clearly)
    except (OSError, ImportError) as exc:  # Pango/HarfBuzz missing on the system (OSError from cffi)
        raise RenderError(
            f"the PDF engine (WeasyPrint) cannot load a system library: {exc}. On Debian/Ubuntu install them with "
            "'apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b', or render HTML only (--format html)."
        ) from exc
    context = multiprocessing.get_context("fork")  # the child inherits the loaded engine: no second import
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_print_pdf, args=(html, str(target), str(base_url), sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            raise RenderError(
                f"PDF rendering took longer than {timeout_s:g} s and was stopped. The report is larger than it should "
                "ever be (check the data for huge text cells), or raise report.render_timeout_seconds in the config.")
        failure = receiver.recv()
    except EOFError:
        failure = f"the PDF engine stopped unexpectedly (exit code {child.exitcode})"
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receiver.close()
    if failure:
        raise RenderError(f"PDF rendering failed: {failure}")


def _print_pdf(html: str, target: str, base_url: str, result: Any) -> None:
    """In the child process: print, then send '' (done) or the error's text."""
    # Ctrl-C or SIGTERM sent to the whole process group: the parent stops this child itself; without these
    # the child would print a traceback of its own (it inherited the parent's handlers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        import weasyprint

        weasyprint.HTML(string=html, base_url=base_url).write_pdf(target)
        result.send("")
    except Exception as exc:  # WeasyPrint raises many kinds; name the step
        result.send(f"{type(exc).__name__}: {exc}")


def warm_up() -> None:
    """Load the renderers (~1.5 s) ahead of time, e.g. in a thread while the notebook executes: their
    modules, and what nbconvert loads on its first page (markdown, highlighting, HTML parsing: ~0.15 s)."""
    _quiet_pdf_engine()
    try:
        import nbconvert  # noqa: F401
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # a missing engine is reported properly by to_pdf later
        return
    page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("A *warm-up* page.")])
    with contextlib.suppress(Exception):  # whatever fails here fails again, reported properly, in the report's render
        to_html(page, report_meta(None, Config(), Period(2000, 1)))
