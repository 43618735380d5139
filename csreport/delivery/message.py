"""Compose the report email: subject, HTML and plain-text summary, the PDF attached.

The numbers come from the period's report model (``metrics.json`` is its JSON form), so
the email shows exactly the figures and comparisons of the PDF. The HTML part is built
for mail clients: tables, inline CSS, no JavaScript, no external images. Account names
never appear; metric labels and numbers do.
"""
from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import DeliveryError
from ..metrics.catalog import BY_KEY
from ..model import ReportModel
from ..report import style
from ..report.formatting import DIRECTION_SIGN, HEADLINE, fmt, mom, month_label, period_heading, yoy
from ..report.html import env
from ..report.narrative import gap_lines, summary_sentences
from ..report.outputs import METRICS_FILE, report_filename
from ..text import inert

_HTML = env.get_template("email/summary.html.j2")
STATUS_WORDS = {"green": "✓ on target", "amber": "≈ within tolerance", "red": "✗ off target"}


def read_model(report_dir: Path) -> ReportModel:
    """The report model of a published report folder (its metrics.json)."""
    metrics_file = report_dir / METRICS_FILE
    if not metrics_file.exists():
        raise DeliveryError(f"no report in {report_dir}: run 'csreport run' for this period first")
    try:
        return ReportModel.from_document(json.loads(metrics_file.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise DeliveryError(f"{metrics_file} is not a metrics.json written by this csreport version ({exc}); "
                            "rerun 'csreport run' for this period") from None


def summary_rows(model: ReportModel) -> list[dict[str, Any]]:
    """The headline metrics with value, changes vs last month and last year, target and status."""
    rows = []
    for key in (k for k in HEADLINE if model.available(k)):  # a section without data is named once, not listed as n/a
        status = model.status.get(key)
        target = model.targets.get(key)
        month, year = mom(model, key), yoy(model, key)
        rows.append({
            "key": key, "label": BY_KEY[key].label, "value": fmt(key, model.value(key)),
            # the status in words too: the coloured bar alone is lost in black and white or to a colour-blind reader
            "status": STATUS_WORDS.get(status or "", ""), "colour": style.RAG.get(status or "", style.MUTED),
            "target": f"target {DIRECTION_SIGN[target.direction]} {fmt(key, target.target)}" if target else "no target",
            "mom": f"{month.arrow} {month.text}" if month else "–",
            "mom_colour": style.TONE[month.tone] if month else style.MUTED,
            "yoy": f"{year.arrow} {year.text}" if year else "–",
            "yoy_colour": style.TONE[year.tone] if year else style.MUTED,
        })
    return rows


def compose(report_dir: Path, sender: str, recipients: list[str], subject_template: str,
            pdf_name: str | None = None) -> EmailMessage:
    """The email for the report in ``report_dir`` (OUT/YYYY-MM/, or a book's folder with its ``pdf_name``):
    text + HTML alternative, PDF attached. A book of business says whose book it is in the subject and title."""
    model = read_model(report_dir)
    period = model.month
    pdf = report_dir / (pdf_name or report_filename(period, "pdf"))
    if not pdf.exists():
        raise DeliveryError(f"{pdf} does not exist: run 'csreport run' with --format pdf for {period}")
    company, title = model.settings.company, model.settings.title
    if model.book is not None:
        title = f"{title}: {'CSM' if model.book.by == 'csm' else 'segment'} {model.book.name}"
    rows = summary_rows(model)
    heading = period_heading(period, model.unfinished_as_of)  # 'November 2026 (to 25 November)': not over yet
    sentences = summary_sentences(model) + gap_lines(model)
    previous, year_ago = month_label(model.previous_period), month_label(period.shift(-12))

    message = EmailMessage()
    subject = subject_template.format(period_label=heading, period=str(period), company=company) + (
        f" — {' '.join(model.book.name.split())}" if model.book is not None else "")  # no line break in a header
    message["Subject"] = inert(subject)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] if "@" in sender else None)
    lines = [f"{title} — {heading}", company, ""] + sentences + [""]
    lines += [f"{r['label']}: {r['value']} ({r['mom']} vs {previous}; {r['yoy']} vs {year_ago}; "
              f"{r['target']}" + (f"; {r['status']}" if r["status"] else "") + ")" for r in rows]
    lines += ["", f"The full report is attached: {pdf.name}"]
    message.set_content(inert("\n".join(lines)))  # no bidi override in the text part either
    message.add_alternative(_HTML.render(rows=rows, sentences=sentences, company=company, title=title,
                                         period_label=heading, previous=previous, year_ago=year_ago,
                                         attachment=pdf.name, c=style.CSS_VARIABLES), subtype="html")
    message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    return message
