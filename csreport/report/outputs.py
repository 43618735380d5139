"""The files of a published report folder (OUT/YYYY-MM/): their names, and writing the data files.

CSV cells that start with ``= + - @``, a tab or a carriage return are prefixed with ``'`` so a
spreadsheet never runs them as formulas (OWASP CSV injection); numbers are left as numbers.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..model import ReportModel
from ..model.types import HealthRow
from ..periods import Period
from ..text import inert, safe_cell

METRICS_FILE = "metrics.json"
ACCOUNT_FILE = "account.json"  # an account review's model (csreport batch --by account)
HEALTH_FILE = "health.csv"
REJECTS_FOLDER = "rejects"


def report_filename(period: Period | str, extension: str) -> str:
    """'customer-success-report-2026-10.pdf' (and .html, .eml, ...)."""
    return f"customer-success-report-{period}.{extension}"


def group_report_filename(period: Period | str, by: str, folder: str, extension: str) -> str:
    """A batch report's file: 'customer-success-report-2026-10-csm-priya-shah.pdf' for a book of business,
    'account-review-2026-10-acc-00001-harbor-retail.pdf' for an account (``folder`` is already safe)."""
    if by == "account":
        return f"account-review-{period}-{folder}.{extension}"
    return f"customer-success-report-{period}-{by}-{folder}.{extension}"


def write_metrics_json(model: ReportModel, folder: Path) -> Path:
    target = folder / METRICS_FILE
    target.write_text(json.dumps(model.document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def write_health_csv(model: ReportModel, folder: Path) -> Path:
    """One row per customer: health, band, weakest component and the four components (4 decimals)."""
    target = folder / HEALTH_FILE
    columns = list(HealthRow.model_fields)
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in model.health:
            values = [getattr(row, c) for c in columns]
            # names are shown as in the report: no bidirectional control reorders a spreadsheet's row either
            writer.writerow([f"{v:.4f}" if isinstance(v, float) else "" if v is None
                             else safe_cell(inert(v)) if isinstance(v, str) else safe_cell(v) for v in values])
    return target
