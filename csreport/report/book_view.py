"""A book of business next to the company: the headline metrics of one CSM's or segment's accounts
beside the whole company's, with the status of each against the same targets.

Shows nothing for the company's own report (``model.book`` is None), so the executive notebook
serves both. The CSM or segment name is untrusted text and is escaped.
"""
from __future__ import annotations

from ..metrics.catalog import BY_KEY
from ..model import ReportModel
from .components import STATUS_MARK, STATUS_MEANING
from .formatting import change_text, fmt, unit_of
from .html import Fragment, env

# the metrics where a book differs from the company in a way a CSM can act on
BESIDE = ["customers_end", "mrr_end", "nrr_pct", "grr_pct", "logo_churn_rate_pct", "nps", "csat_pct", "sla_met_pct",
          "stickiness_pct", "health_avg", "health_red_pct"]
BY_LABEL = {"csm": "CSM", "segment": "Segment"}
_TABLE = env.get_template("fragments/book_beside.html.j2")


def beside_company(model: ReportModel, keys: list[str] | None = None) -> Fragment:
    """This book's value, the company's value, and the difference, per headline metric."""
    book = model.book
    if book is None:
        return Fragment("")
    company = book.company
    rows = []
    for key in keys or BESIDE:
        mine, theirs = model.value(key), company.value(key)
        status, company_status = model.status.get(key), company.status.get(key)
        rows.append({"label": BY_KEY[key].label, "book": fmt(key, mine), "status": status,
                     "mark": STATUS_MARK.get(status or ""), "company": fmt(key, theirs),
                     "company_status": company_status, "company_mark": STATUS_MARK.get(company_status or ""),
                     "difference": _difference(key, mine, theirs)})
    legend = [f"{STATUS_MARK[s]} {STATUS_MEANING[s]}" for s in ("green", "amber", "red")]
    return Fragment(_TABLE.render(rows=rows, by=BY_LABEL[book.by], name=book.name, accounts=book.accounts,
                                  legend=legend))


def _difference(key: str, mine: object, theirs: object) -> str:
    """A rate's difference in its unit ('+1.9 pp'); for a size (customers, MRR) the book's share of the company."""
    if not isinstance(mine, (int, float)) or not isinstance(theirs, (int, float)):
        return "–"
    if unit_of(key) in ("count", "currency"):
        return f"{100 * mine / theirs:.1f}% of company" if theirs else "–"
    return change_text(key, mine, theirs)
