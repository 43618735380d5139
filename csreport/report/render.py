"""Render an executed notebook to HTML (nbconvert + our template) and PDF (WeasyPrint).

The template ships inside the package (``csreport/templates/csreport``) and extends
nbconvert's base templates; the PDF is printed from that same HTML, so both always agree.
"""
from __future__ import annotations

import logging
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
from . import style
from .html import without_jupyter_style


def report_meta(model: ReportModel | None, config: Config, period: Period) -> dict[str, Any]:
    """The header and footer fields of the template: from the model, or the config for a notebook without one."""
    settings = model.settings if model is not None else config.report
    provenance = model.provenance if model is not None else None
    return {"period": str(period), "period_label": period.label, "company": settings.company,
            "title": settings.title, "paper": settings.paper, "version": __version__,
            "fingerprint": provenance.fingerprint if provenance else "n/a",
            "source_kind": provenance.source_kind if provenance else "",
            "generated_at": provenance.generated_at if provenance else "", "palette_css": style.css_root(),
            "unavailable": list(model.unavailable) if model is not None else []}


def to_html(executed: Path, meta: dict[str, Any]) -> str:
    from nbconvert import HTMLExporter  # imported late: `csreport run` warms it up while the notebook executes

    with ExitStack() as stack:
        templates = stack.enter_context(resources.as_file(resources.files("csreport") / "templates"))
        exporter = HTMLExporter(template_name="csreport", extra_template_basedirs=[str(templates)],
                                filters={"without_jupyter_style": without_jupyter_style})
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        notebook = nbformat.read(str(executed), as_version=4)
        html, _ = exporter.from_notebook_node(notebook, resources={"csreport": meta})
    return str(html)


def _quiet_pdf_engine() -> None:
    """WeasyPrint's advice about optional system libraries (HarfBuzz-Subset) is not a report problem:
    keep it out of cron logs. Real errors still raise."""
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)


def to_pdf(html: str, target: Path, base_url: Path) -> None:
    _quiet_pdf_engine()
    try:
        import weasyprint
    except (OSError, ImportError) as exc:  # Pango/HarfBuzz missing on the system (OSError from cffi)
        raise RenderError(
            f"the PDF engine (WeasyPrint) cannot load a system library: {exc}. On Debian/Ubuntu install them with "
            "'apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b', or render HTML only (--format html)."
        ) from exc
    try:
        weasyprint.HTML(string=html, base_url=str(base_url)).write_pdf(str(target))
    except Exception as exc:  # WeasyPrint raises many kinds; name the step
        raise RenderError(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc


def warm_up() -> None:
    """Import the renderers (~1.5 s) ahead of time, e.g. in a thread while the notebook executes."""
    _quiet_pdf_engine()
    try:
        import nbconvert  # noqa: F401
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # a missing engine is reported properly by to_pdf later
        pass
