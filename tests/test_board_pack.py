"""Issue 10 on the published pack: page 1 in A4 and Letter, no half-empty pages, no server paths or
command-line flags, definitions for every metric shown, quiet logs, group-readable folders.

One small synthetic company (``csreport demo`` at 1 % scale) with twelve months of history, so
page 1 has trailing-twelve-month figures and every comparison; rendered once per paper size.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import TICKETS, run_cli, write_company
from pypdf import PdfReader

from csreport.demo import generate_demo
from csreport.model import ReportModel
from csreport.periods import Period
from csreport.report.formatting import HEADLINE, bridge_figures, fmt, month_label

pytestmark = pytest.mark.slow

PERIOD = "2026-10"
PAPERS = {"A4": (595, 842), "Letter": (612, 792)}  # points
# the page margins of report.css (16 mm top, 15 mm bottom) in points: the running header and footer live there
TOP_MARGIN, BOTTOM_MARGIN = 16 / 25.4 * 72, 15 / 25.4 * 72


@pytest.fixture(scope="session")
def packs(tmp_path_factory) -> dict[str, Path]:
    """paper -> the published report folder of October 2026 (demo data, history from Oct 2025).

    Built once for the whole run: xdist workers share it through the common base folder, under a lock
    (pytest-xdist's recipe for a session fixture that must run once).
    """
    shared = tmp_path_factory.getbasetemp().parent / "board-pack"
    shared.mkdir(exist_ok=True)
    with open(shared / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "done").exists():
            _build_packs(shared)
            (shared / "done").write_text("ok")
    return {paper: shared / paper / PERIOD for paper in PAPERS}


def _build_packs(tmp: Path) -> None:
    data = tmp / "demo"
    generate_demo(data, seed=11, scale=0.01, end=Period(2026, 10))
    history = tmp / "history.sqlite"
    code, _, err = run_cli("backfill", "--data", data, "--from", "2025-10", "--to", "2026-09", "--history", history,
                           "--quiet")
    assert code == 0, err
    for paper in PAPERS:
        config = tmp / f"{paper}.yaml"
        config.write_text(f"report: {{paper: {paper}}}\n")
        code, _, err = run_cli("run", "--data", data, "--period", PERIOD, "--out", tmp / paper, "--config", config,
                               "--history", history, "--quiet")
        assert code == 0, err


def _pdf(folder: Path) -> PdfReader:
    return PdfReader(folder / f"customer-success-report-{PERIOD}.pdf")


def _html(folder: Path) -> BeautifulSoup:
    return BeautifulSoup((folder / f"customer-success-report-{PERIOD}.html").read_text(), "html.parser")


def _model(folder: Path) -> ReportModel:
    return ReportModel.from_document(json.loads((folder / "metrics.json").read_text()))


@pytest.mark.parametrize("paper", PAPERS)
def test_page_one_holds_the_bridge_and_the_ttm_figures(packs, paper):
    reader = _pdf(packs[paper])
    page = reader.pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == PAPERS[paper]
    text = re.sub(r"\s+", " ", page.extract_text())
    model = _model(packs[paper])
    # the trailing-twelve-month retention tiles, with the values of metrics.json
    for key, label in (("grr_ttm_pct", "GRR (12 months)"), ("nrr_ttm_pct", "NRR (12 months)")):
        assert model.value(key) is not None
        assert label.upper() in text.upper() and fmt(key, model.value(key)) in text, (paper, key)
    # the whole MRR bridge: title, every bar's name and the end label of the chart
    figures = bridge_figures(model.metrics)
    assert "MRR bridge" in text
    for word in ("New", "Reactivation", "Expansion", "Contraction", "Churned", "MRR Oct 2026"):
        assert word in text, (paper, word)
    assert figures.text(figures.end) in text
    # and the narrative's MRR sentence (its first words; the line may wrap)
    assert "MRR grew" in text or "MRR fell" in text
    # no growth by near-empty pages (see test_no_page_is_mostly_empty): 12 at most, the pack of issue 10 (9) plus
    # issue 11's cohort heatmaps (about a page), health backtest panel, session rows and their definitions
    assert len(reader.pages) <= 12


def _lowest_text(page) -> float | None:
    """The lowest baseline (points from the bottom) of body text: the running footer below the margin is left out."""
    found: list[float] = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            found.append(cm[5] + tm[5] * cm[3])

    page.extract_text(visitor_text=visit)
    body = [y for y in found if y > BOTTOM_MARGIN + 1]
    return min(body) if body else None


@pytest.mark.parametrize("paper", PAPERS)
def test_no_page_is_mostly_empty(packs, paper):
    reader = _pdf(packs[paper])
    height = PAPERS[paper][1]
    usable = height - TOP_MARGIN - BOTTOM_MARGIN
    for number, page in enumerate(reader.pages[:-1], start=1):  # the last page ends the pack
        lowest = _lowest_text(page)
        assert lowest is not None, (paper, number)
        filled = (height - TOP_MARGIN - lowest) / usable
        assert filled > 0.5, (paper, number, round(filled, 2))


def test_no_server_path_or_command_line_flag_in_the_pack(packs, tmp_path_factory):
    path = re.compile(r"(?<![\w.:/])/(?:tmp|home|root|work|srv|var|opt|usr|mnt|data|Users)\b")
    flag = re.compile(r"(?<![\w-])--[a-z]")
    for folder in packs.values():
        texts = {"pdf": " ".join(page.extract_text() for page in _pdf(folder).pages),
                 "html": _html(folder).get_text(" ")}
        for kind, text in texts.items():
            assert str(folder.parent.parent) not in text, kind
            assert not path.search(text), (kind, path.search(text))
            assert not flag.search(text), (kind, flag.search(text))
        # the sources are named, with the data's fingerprint
        fingerprint = _model(folder).provenance.fingerprint
        assert "accounts.csv" in texts["html"] and fingerprint in texts["html"] and fingerprint in texts["pdf"]


def test_the_definitions_cover_every_metric_shown(packs):
    soup = _html(packs["A4"])
    defined = {d["data-key"] for d in soup.select(".definition[data-key]")}
    shown = {e["data-key"] for e in soup.select("[data-key]") if not e.has_attr("class")
             or "definition" not in e["class"]}
    shown |= {"mrr_start", "mrr_new", "mrr_reactivation", "mrr_expansion", "mrr_contraction", "mrr_churned"}
    assert set(HEADLINE) <= shown
    assert shown - defined == set()
    # the appendix has a title, the definitions say how each is computed and with which settings
    headings = [h.get_text(strip=True) for h in soup.select(".appendix h2, .appendix h3")]
    assert headings[0] == "Appendix" and any(h.startswith("Definitions") for h in headings)
    sla = soup.select_one('.definition[data-key="sla_met_pct"]').get_text(" ")
    assert "sla_hours" in sla and "SLA 48 h" in sla
    health = soup.select_one('.definition[data-key="health_avg"]').get_text(" ")
    assert "usage 40%" in health and "green ≥ 75" in health
    churn = soup.select_one('.definition[data-key="logo_churn_rate_pct"]').get_text(" ")
    assert "customers_churned / customers_start" in churn and "SMB ≤ 2.5%" in churn  # the segment override


def test_mrr_sentence_adds_up_on_demo_data(packs):
    from test_board_model import check_bridge_sentence

    model = _model(packs["A4"])
    sentence = check_bridge_sentence(model)
    assert bridge_figures(model.metrics).unit == 100.0  # demo MRR is in the millions: shown as $…k
    assert sentence in [li.get_text() for li in _html(packs["A4"]).select(".narrative li")]  # the pack's own


def test_no_sentence_is_repeated(packs):
    soup = _html(packs["A4"])
    sentences = [li.get_text(" ", strip=True) for li in soup.select(".narrative li")]
    assert len(sentences) >= 8
    assert len(sentences) == len(set(sentences))


def test_segment_cells_show_their_target_and_a_status_symbol(packs):
    soup = _html(packs["A4"])
    row = soup.select_one('.segments tr[data-key="logo_churn_rate_pct"]')
    cells = row.select("td.seg")
    headers = [th.get_text(strip=True) for th in soup.select(".segments thead th")]
    targets = dict(zip(headers[1:], [c.select_one(".t").get_text(strip=True) for c in cells], strict=True))
    # default targets: all customers <= 1.0 %, Enterprise's own <= 0.5 %, SMB's <= 2.5 %
    assert targets["All"] == "≤ 1.0%" and targets["Enterprise"] == "≤ 0.5%" and targets["SMB"] == "≤ 2.5%"
    model = _model(packs["A4"])
    marks = {"green": "✓", "amber": "≈", "red": "✗"}
    for name, cell in zip(headers[1:], cells, strict=True):
        status = model.scope(None if name == "All" else name).status["logo_churn_rate_pct"]
        assert marks[status] in cell.select_one(".v").get_text(), name  # readable without colour
    # headers right-aligned like the numbers under them
    assert all("num" in th.get("class", []) for th in soup.select(".segments thead th")[1:])


def test_at_risk_list_in_the_pack(packs):
    soup = _html(packs["A4"])
    model = _model(packs["A4"])
    header = [th.get_text(strip=True) for th in soup.select("table.at-risk thead th")]
    assert header[:5] == ["Customer", "Segment", "CSM", "MRR", "At risk"]  # the demo accounts have a csm column
    at_risk = [r.mrr_at_risk for r in model.at_risk]
    assert at_risk == sorted(at_risk, reverse=True) and len(at_risk) == 10


def test_published_folder_is_readable_by_the_group(packs):
    mask = os.umask(0o022)
    os.umask(mask)
    for folder in packs.values():
        mode = stat.S_IMODE(folder.stat().st_mode)
        assert mode == 0o777 & ~mask and mode & 0o050 == 0o050, oct(mode)


def test_cron_log_is_one_line_per_step(tmp_path):
    """`csreport run` with stderr to a file: no progress bar, no kernel warnings, only our lines."""
    data = write_company(tmp_path / "company")
    result = subprocess.run([sys.executable, "-m", "csreport.cli", "run", "--data", str(data), "--period", "2026-03",
                             "--out", str(tmp_path / "out"), "--format", "html"], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("[csreport] ") for line in lines), lines
    assert "\r" not in result.stderr and "KeyboardInterrupt" not in result.stderr and "TCP" not in result.stderr


def test_quarantine_is_said_in_run_output_and_points_at_published_rejects(tmp_path):
    source = write_company(tmp_path / "company", tickets=TICKETS + [("T9", "NOPE", "2026-03-02T10:00:00Z", "", "")])
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "out", "--quiet",
                           "--format", "html", "--on-invalid", "quarantine")
    assert code == 0, err
    line = "1 invalid row was set aside and left out of every figure: tickets 1 (see Data quality)."
    assert f"[csreport] warning: {line}" in err  # said even with --quiet
    folder = tmp_path / "out" / "2026-03"
    rejects = json.loads((folder / "metrics.json").read_text())["data_quality"]["tickets"]["rejects_file"]
    assert rejects == str(folder / "rejects" / "tickets.csv") and Path(rejects).exists()
    html = (folder / "customer-success-report-2026-03.html").read_text()
    assert line in html  # on page 1 too


def test_issue11_sections_show_the_model(packs):
    """Cohort heatmaps (revenue), the health backtest panel, sessions (engagement) and support CSAT, each
    with the model's numbers, and each metric defined in the appendix."""
    soup, model = _html(packs["A4"]), _model(packs["A4"])
    titles = [t.get_text() for t in soup.select("figure.chart svg text")]
    assert any(t.startswith("Logo retention by cohort") for t in titles)
    assert any(t.startswith("MRR retention by cohort") for t in titles)
    assert len(model.cohort_sizes) == 12  # twelve cohorts, each labelled with its size in both heatmaps
    for month, n in model.cohort_sizes.items():
        assert titles.count(f"{month_label(month)} (n={n:,})") == 2, month
    panel = soup.select_one(".backtest")
    assert panel.select_one("h3").get_text() == "Does our health score predict churn?"
    assert panel.select_one(".kpi-value").get_text() == fmt("health_backtest_auc", model.value("health_backtest_auc"))
    lookback = model.backtest_month.start_date.strftime("%b %Y")
    assert f"{model.value('health_backtest_customers'):,} customers active in {lookback}" in panel.get_text()
    counts = [[int(td.get_text().replace(",", "")) for td in tr.select("td.num")[:2]]
              for tr in panel.select("tbody tr")]
    bands = model.backtest_bands
    assert counts == [[bands[b].customers, bands[b].churned] for b in ("green", "amber", "red")]
    for key in ("sessions", "session_minutes_median", "time_in_product_hours_per_user", "support_csat_pct"):
        row = soup.select_one(f'table.metric-table tr[data-key="{key}"]')
        assert row.select_one("td.num.strong").get_text() == fmt(key, model.value(key)), key
    assert f"n={model.value('support_csat_responses'):,}" in \
        soup.select_one('tr[data-key="support_csat_pct"]').get_text()
    defined = {d["data-key"] for d in soup.select(".definition[data-key]")}
    assert {"cohort_logo_retention_pct", "cohort_mrr_retention_pct", "health_backtest_auc",
            "health_backtest_red_churn_pct", "support_csat_responses", "sessions_per_user_avg"} <= defined
