"""Render an executed notebook to HTML (nbconvert + our template) and PDF (WeasyPrint).

The HTML template lives in ``templates/csreport`` and extends nbconvert's base
templates; the PDF is printed from that same HTML, so both always agree.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from ..errors import RenderError
from ..periods import Period

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def report_meta(metrics_json: Path, company: str, title: str, paper: str) -> dict:
    document = json.loads(metrics_json.read_text(encoding="utf-8"))
    from .. import __version__

    provenance = document.get("provenance", {})
    return {"period": document["period"], "period_label": Period.parse(document["period"]).label,
            "company": company, "title": title, "paper": paper, "version": __version__,
            "fingerprint": provenance.get("fingerprint", "unknown"), "source_kind": provenance.get("source_kind", ""),
            "generated_at": provenance.get("generated_at", "")}


def to_html(executed: Path, meta: dict) -> str:
    from nbconvert import HTMLExporter  # imported late: `csreport run` warms it up while the notebook executes

    exporter = HTMLExporter(template_name="csreport", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    notebook = nbformat.read(str(executed), as_version=4)
    html, _ = exporter.from_notebook_node(notebook, resources={"csreport": meta})
    return html


def to_pdf(html: str, target: Path, base_url: Path) -> None:
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
