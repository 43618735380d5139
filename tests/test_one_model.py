"""One run, one set of numbers: HTML, PDF, email and metrics.json show the same figures and comparisons.

The report model decides every number once. These tests render all four outputs of one
`csreport run` and compare them headline by headline, with and without a history store
(whose February values deliberately differ from what the data gives now, so a wrong
"previous month" rule anywhere would show).
"""
from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import run_cli, write_company
from pypdf import PdfReader

from csreport.benchmark.history import History
from csreport.metrics.catalog import BY_KEY
from csreport.report.formatting import HEADLINE, delta, fmt

pytestmark = pytest.mark.slow


def _expected(doc: dict, key: str) -> dict[str, str | None]:
    """The value and changes of one headline metric as metrics.json holds them, formatted for people."""
    value, change = doc["metrics"][key], doc["comparison"][key]
    month = delta(key, value, change["previous"], change["significant"])
    year = delta(key, value, change["year_ago"])
    return {"value": fmt(key, value), "mom": month.text if month else None, "yoy": year.text if year else None}


def _run(tmp_path: Path, history: Path) -> Path:
    source = write_company(tmp_path / "company")
    out = tmp_path / "reports"
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", out, "--quiet",
                           "--history", history)
    assert code == 0, err
    return out / "2026-03"


def _outputs(folder: Path) -> tuple[dict, str, str, email.message.EmailMessage]:
    """metrics.json, the HTML, the PDF's first page and the email (a dry run) of one published report."""
    code, _, err = run_cli("email", "--period", "2026-03", "--out", folder.parent, "--to", "ceo@example.com",
                           "--dry-run")
    assert code == 0, err
    doc = json.loads((folder / "metrics.json").read_text())
    html = (folder / "customer-success-report-2026-03.html").read_text()
    page_one = PdfReader(folder / "customer-success-report-2026-03.pdf").pages[0].extract_text()
    message = email.message_from_bytes((folder / "customer-success-report-2026-03.eml").read_bytes(),
                                       policy=email.policy.default)
    return doc, html, page_one, message


def _assert_all_agree(doc: dict, html: str, page_one: str, message: email.message.EmailMessage) -> None:
    soup = BeautifulSoup(html, "html.parser")
    text_part = message.get_body(preferencelist=("plain",)).get_content()
    email_html = BeautifulSoup(message.get_body(preferencelist=("html",)).get_content(), "html.parser").get_text(" ")
    flat_pdf = re.sub(r"\s+", " ", page_one)
    for key in HEADLINE:
        expected = _expected(doc, key)
        tile = soup.select_one(f'.kpi[data-key="{key}"]').get_text(" ")
        row = next(line for line in text_part.splitlines() if line.startswith(f"{BY_KEY[key].label}:"))
        for part in ("value", "mom", "yoy"):
            shown = expected[part]
            if shown is None:
                continue
            assert shown in tile, (key, part, shown, tile)
            assert shown in row, (key, part, shown, row)
            assert shown in email_html, (key, part, shown)
            assert shown in flat_pdf, (key, part, shown)


def test_all_outputs_agree_without_history(report):
    doc, html, page_one, message = _outputs(report[0])
    # no history: the previous month comes from the data, and the model says so
    assert doc["comparison"]["mrr_end"]["previous_from"] == "data"
    # MRR 610 (Feb) -> 390 (Mar): -36.1 % everywhere
    assert _expected(doc, "mrr_end")["mom"] == "-36.1%"
    _assert_all_agree(doc, html, page_one, message)


def test_all_outputs_agree_with_history(tmp_path):
    history = tmp_path / "h.sqlite"
    # February as recorded by an earlier run: 8 customers and MRR 500 (the data gives 4 and 610 today)
    History(history).write_period("2026-02", {"": {"customers_end": 8, "mrr_end": 500.0}}, {}, "earlier-run")
    doc, html, page_one, message = _outputs(_run(tmp_path, history))
    # history holds February: 5 - 8 = -3 customers; MRR (390 - 500) / 500 = -22.0 %
    assert doc["comparison"]["customers_end"] == {**doc["comparison"]["customers_end"], "previous": 8.0,
                                                  "previous_from": "history", "mom_delta": -3.0}
    assert _expected(doc, "mrr_end")["mom"] == "-22.0%"
    # NRR is not in this history: recomputed from the data, 100 * 280 / 610 = 45.9 %, previous month
    # February: start 360 (Jan) ... the model says where it came from
    assert doc["comparison"]["nrr_pct"]["previous_from"] == "data"
    assert {r["metric"] for r in doc["restatements"]} == {"customers_end", "mrr_end"}
    _assert_all_agree(doc, html, page_one, message)
    # the pack lists them with the recorded and today's value: February customers 8 -> 4, MRR $500 -> $610
    restated = [[td.get_text(strip=True) for td in tr.select("td")]
                for tr in BeautifulSoup(html, "html.parser").select("table.restated tbody tr")]
    assert sorted(restated) == [["Feb 2026", "Customers at end", "All customers", "8", "4"],
                                ["Feb 2026", "MRR", "All customers", "$500", "$610"]]


def test_bad_history_store_exits_7_from_run_and_metrics(tmp_path):
    source = write_company(tmp_path / "company")
    broken = tmp_path / "history.sqlite"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    code, _, err = run_cli("metrics", "--data", source, "--period", "2026-03", "--quiet", "--history", broken)
    assert code == 7 and "history store" in err
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "out", "--quiet",
                           "--format", "html", "--history", broken)
    assert code == 7 and "history store" in err
    assert not (tmp_path / "out" / "2026-03").exists()
