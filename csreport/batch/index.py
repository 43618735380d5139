"""What a batch produced, per group: ``batch.json`` (for programs and the email) and ``index.html`` (for people).

Each :class:`Entry` names the group, its folder and files, whether it succeeded (and if not,
the error), and its headline numbers, formatted as the reports format them. The index links
every report; names and errors are untrusted text and are escaped.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..model import ReportModel
from ..model.account import DISCUSS_LOOKBACK, AccountModel
from ..periods import Period
from ..report import style
from ..report.formatting import fmt, money
from ..report.html import env

BATCH_FILE = "batch.json"
INDEX_FILE = "index.html"
Status = Literal["ok", "failed"]
_INDEX = env.get_template("batch/index.html.j2")
BY_TITLE = {"csm": "Books of business by CSM", "segment": "Books of business by segment",
            "account": "Account reviews"}


@dataclass
class Figure:
    label: str
    text: str
    band: str | None = None  # green / amber / red, when the number has a status


@dataclass
class Entry:
    key: str
    label: str
    folder: str
    status: Status
    generated_at: str
    files: dict[str, str] = field(default_factory=dict)  # 'html', 'pdf', 'notebook', 'model' -> file name
    headline: list[Figure] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    failed_notebook: str | None = None  # beside the folders: '<folder>.failed.ipynb'
    earlier: str | None = None  # failed now, the report of an earlier batch (generated then) is kept
    recipients: list[str] = field(default_factory=list)  # a CSM's addresses from the accounts table

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Entry:
        data = dict(data)
        data["headline"] = [Figure(**f) for f in data.get("headline", [])]
        return cls(**data)


def account_headline(model: AccountModel) -> list[Figure]:
    now = model.now
    band = None if now.health is None else now.band
    change = model.health_change
    return [
        Figure("MRR", money(model.mrr_now)),
        Figure("Health", "n/a" if now.health is None else f"{now.health:.0f}", band),
        Figure(f"Health vs {DISCUSS_LOOKBACK} months ago", "–" if change is None else f"{change:+.0f}"),
        Figure("Active users", "n/a" if model.active_users[-1].value is None
               else f"{model.active_users[-1].value:,.0f}"),
        Figure("Open tickets", fmt("backlog_end", model.value("backlog_end"))),
        Figure("Overdue", money(model.overdue_amount) if model.overdue_invoices else "none",
               "red" if model.overdue_invoices else None),
        Figure("NPS (12 months)", fmt("nps", model.survey_12m.get("nps"))),
    ]


BOOK_HEADLINE = ["customers_end", "mrr_end", "nrr_pct", "logo_churn_rate_pct", "nps", "health_avg", "health_red_pct"]
SHORT = {"customers_end": "Customers", "mrr_end": "MRR", "nrr_pct": "NRR", "logo_churn_rate_pct": "Logo churn",
         "nps": "NPS", "health_avg": "Health", "health_red_pct": "At risk"}


def book_headline(model: ReportModel) -> list[Figure]:
    accounts = model.book.accounts if model.book else 0
    return [Figure("Accounts", f"{accounts:,}")] + [
        Figure(SHORT[key], fmt(key, model.value(key)), model.status.get(key)) for key in BOOK_HEADLINE]


def write_batch(folder: Path, period: Period, by: str, entries: list[Entry], without_group: list[str],
                generated_at: str, engine_passes: int, heading: str | None = None) -> None:
    """batch.json and index.html of a batch folder (``engine_passes``: event queries this batch made;
    ``heading``: the month as the index names it, by default its label)."""
    document = {"period": str(period), "by": by, "generated_at": generated_at, "engine_passes": engine_passes,
                "groups": [asdict(e) for e in entries], "without_group": without_group}
    (folder / BATCH_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    columns = next((e.headline for e in entries if e.headline), [])
    failed = [e for e in entries if e.status == "failed"]
    html = _INDEX.render(title=BY_TITLE[by], period=heading or period.label, generated_at=generated_at, entries=entries,
                         columns=[c.label for c in columns], failed=failed, without_group=without_group,
                         palette=style.css_root(), by=by)
    (folder / INDEX_FILE).write_text(html, encoding="utf-8")


def read_batch(folder: Path) -> list[Entry]:
    """The entries of an earlier batch in ``folder`` (none if it has no readable batch.json)."""
    path = folder / BATCH_FILE
    if not path.is_file():
        return []
    try:
        return [Entry.from_json(g) for g in json.loads(path.read_text(encoding="utf-8"))["groups"]]
    except (ValueError, KeyError, TypeError):
        return []
