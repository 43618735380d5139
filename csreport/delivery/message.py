"""Compose the report email: subject, HTML and plain-text summary, the PDF attached.

The HTML part is built for mail clients: tables, inline CSS, no JavaScript, no
external images. Account names never appear; metric labels and numbers do.
"""
from __future__ import annotations

import json
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from jinja2 import Environment, select_autoescape

from ..errors import DeliveryError
from ..metrics.catalog import BY_KEY
from ..periods import Period
from ..report.formatting import HEADLINE, delta, fmt

RAG = {"green": "#1e8e5a", "amber": "#d98a00", "red": "#c8372d", None: "#7b8794"}
TONE = {"good": "#1e8e5a", "bad": "#c8372d", "flat": "#7b8794"}
_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

_HTML = _env.from_string("""<!DOCTYPE html>
<html><body style="margin:0;padding:0;background:#f5f7fa;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f5f7fa;padding:24px 0;">
<tr><td align="center">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;border:1px solid #e4e7eb;font-family:Arial,Helvetica,sans-serif;color:#1f2933;">
  <tr><td style="padding:24px 28px 8px 28px;border-top:4px solid #2f6fde;">
    <div style="font-size:11px;letter-spacing:1px;text-transform:uppercase;color:#7b8794;">{{ company }}</div>
    <div style="font-size:22px;font-weight:bold;margin-top:4px;">{{ title }}</div>
    <div style="font-size:16px;color:#2f6fde;font-weight:bold;">{{ period_label }}</div>
  </td></tr>
  <tr><td style="padding:12px 28px;">
    <table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;font-size:14px;">
      <tr>
        <th align="left" style="font-size:11px;color:#7b8794;text-transform:uppercase;border-bottom:2px solid #1f2933;padding:6px 4px;">Metric</th>
        <th align="right" style="font-size:11px;color:#7b8794;text-transform:uppercase;border-bottom:2px solid #1f2933;padding:6px 4px;">{{ period_short }}</th>
        <th align="right" style="font-size:11px;color:#7b8794;text-transform:uppercase;border-bottom:2px solid #1f2933;padding:6px 4px;">vs last month</th>
        <th align="right" style="font-size:11px;color:#7b8794;text-transform:uppercase;border-bottom:2px solid #1f2933;padding:6px 4px;">Target</th>
      </tr>
      {% for r in rows %}
      <tr>
        <td style="padding:8px 4px;border-bottom:1px solid #e4e7eb;border-left:4px solid {{ r.colour }};">&nbsp;{{ r.label }}</td>
        <td align="right" style="padding:8px 4px;border-bottom:1px solid #e4e7eb;font-weight:bold;">{{ r.value }}</td>
        <td align="right" style="padding:8px 4px;border-bottom:1px solid #e4e7eb;color:{{ r.delta_colour }};">{{ r.delta }}</td>
        <td align="right" style="padding:8px 4px;border-bottom:1px solid #e4e7eb;color:#7b8794;">{{ r.target }}</td>
      </tr>
      {% endfor %}
    </table>
  </td></tr>
  <tr><td style="padding:8px 28px 24px 28px;font-size:13px;color:#52606d;">
    The full report is attached as a PDF ({{ attachment }}).<br>
    Coloured bars: green meets target, amber just misses, red misses.
  </td></tr>
</table>
</td></tr></table>
</body></html>
""")


def summary_rows(document: dict) -> list[dict]:
    """The headline metrics of a metrics.json with value, delta vs last month and status."""
    rows = []
    for key in HEADLINE:
        value = document["metrics"].get(key)
        previous = document.get("comparison", {}).get(key, {}).get("previous")
        change = delta(key, value, previous)
        status = document["status"].get(key)
        rows.append({
            "label": BY_KEY[key].label, "value": fmt(key, value), "status": status or "no target",
            "colour": RAG.get(status, RAG[None]),
            "delta": f"{change['arrow']} {change['text']}" if change else "–",
            "delta_colour": TONE[change["tone"]] if change else TONE["flat"],
            "target": "–",
        })
    return rows


def compose(report_dir: Path, sender: str, recipients: list[str], company: str, title: str,
            subject_template: str) -> EmailMessage:
    """The email for the report in ``report_dir`` (OUT/YYYY-MM/): text + HTML alternative, PDF attached."""
    metrics_file = report_dir / "metrics.json"
    if not metrics_file.exists():
        raise DeliveryError(f"no report in {report_dir}: run 'csreport run' for this period first")
    document = json.loads(metrics_file.read_text(encoding="utf-8"))
    period = Period.parse(document["period"])
    pdf = report_dir / f"customer-success-report-{period}.pdf"
    if not pdf.exists():
        raise DeliveryError(f"{pdf} does not exist: run 'csreport run' with --format pdf for {period}")
    rows = summary_rows(document)
    targets = document.get("targets", {})
    for row, key in zip(rows, HEADLINE):
        if key in targets:
            sign = "≥" if BY_KEY[key].higher_is_better else "≤"
            row["target"] = f"{sign} {fmt(key, targets[key])}"

    message = EmailMessage()
    message["Subject"] = subject_template.format(period_label=period.label, period=str(period), company=company)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] if "@" in sender else None)
    lines = [f"{title} — {period.label}", f"{company}", ""]
    lines += [f"{r['label']}: {r['value']} ({r['delta']} vs last month; {r['status']})" for r in rows]
    lines += ["", f"The full report is attached: {pdf.name}"]
    message.set_content("\n".join(lines))
    message.add_alternative(_HTML.render(rows=rows, company=company, title=title, period_label=period.label,
                                         period_short=period.start_date.strftime("%b %Y"), attachment=pdf.name),
                            subtype="html")
    message.add_attachment(pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name)
    return message
