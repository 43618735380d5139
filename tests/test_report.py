"""The whole `csreport run` pipeline on the hand-computed company (period 2026-03)."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import run_cli, write_company
from pypdf import PdfReader

from csreport.benchmark.history import History
from csreport.errors import NotebookError
from csreport.report.execute import check_parameters

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_run_writes_every_output(report):
    folder, stdout = report
    names = {p.name for p in folder.iterdir()}
    assert {"executive_summary.ipynb", "customer-success-report-2026-03.html", "customer-success-report-2026-03.pdf",
            "metrics.json", "health.csv"} <= names
    assert str(folder / "customer-success-report-2026-03.pdf") in stdout
    # no staging folder or failed notebook left behind (only the per-period lock file stays)
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".") or p.name.endswith(".failed.ipynb")] \
        == [".2026-03.lock"]
    # published, then recorded: the history store next to the report holds March for all customers and segments
    recorded = History(folder.parent / "history.sqlite").read_scopes(["2026-03"])
    assert set(recorded) == {"", "SMB", "Mid-Market", "Enterprise"}
    assert recorded[""]["2026-03"]["mrr_end"][0] == 390.0


@pytest.mark.slow
def test_the_model_is_built_once_by_run_and_read_by_the_notebook(report):
    """Issue 15: `csreport run` builds the model in its own process while the kernel starts; the notebook
    gets it as model_path and reads it instead of loading the data (no work done twice)."""
    notebook = nbformat.read(report[0] / "executive_summary.ipynb", as_version=4)
    injected = next(c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "model_path = " in injected.source and "model_path = None" not in injected.source
    said = json.dumps([c.get("outputs", []) for c in notebook.cells])
    assert "data read and metrics computed" not in said  # the kernel's own build did not run
    assert "Report model for 2026-03" in said  # but the model is published as before


@pytest.mark.slow
def test_metrics_json_matches_hand_computed_values(report):
    doc = json.loads((report[0] / "metrics.json").read_text())
    assert doc["metrics"]["nps"] == pytest.approx(25.0)  # see test_metrics_company.test_surveys
    assert doc["metrics"]["nrr_pct"] == pytest.approx(100 * 280 / 610)
    assert doc["status"]["nps"] == "red"  # 25 misses the default target 40 by more than 10
    assert doc["provenance"]["fingerprint"]


@pytest.mark.slow
def test_html_shows_kpis_and_no_code(report):
    html = (report[0] / "customer-success-report-2026-03.html").read_text()
    # NPS +25, NRR 100*280/610 = 45.9 %, logo churn 25.0 %: the values of metrics.json
    assert "+25" in html and "45.9%" in html and "25.0%" in html
    assert "build_report(" not in html and "import " not in html and "In&nbsp;[" not in html
    assert "<script" not in html.lower()  # no JavaScript at all in the report


@pytest.mark.slow
def test_untrusted_text_is_escaped(report):
    html = (report[0] / "customer-success-report-2026-03.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # survey comment S2
    # account A's name, in the at-risk list: shown as text, never as markup
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html and "Acme <b>Corp</b>" not in html


@pytest.mark.slow
def test_pdf_parses_with_kpi_text(report):
    reader = PdfReader(report[0] / "customer-success-report-2026-03.pdf")
    assert 3 <= len(reader.pages) <= 10  # 8 before issue 11 added cohort heatmaps, the backtest panel and sessions
    first = reader.pages[0].extract_text()
    assert "Customer Success Report" in first and "March 2026" in first
    # NPS +25 and logo churn 25.0 % in the tiles; the monthly NRR 45.9 % is on page 2 (page 1 shows the
    # trailing-twelve-month figures, n/a here: no customer was active in March 2025)
    assert "+25" in first and "25.0%" in first and "NRR (12 MONTHS)" in first  # tile labels are upper case
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Page 1 of" in text
    # provenance in every page footer: the source fingerprint of metrics.json
    fingerprint = json.loads((report[0] / "metrics.json").read_text())["provenance"]["fingerprint"]
    assert all(fingerprint in page.extract_text() for page in reader.pages)


@pytest.mark.slow
def test_no_secret_in_any_output(report):
    for path in report[0].rglob("*"):
        if path.is_file():
            assert b"hunter2-never-print-me" not in path.read_bytes(), path


def test_secret_looking_parameters_are_refused():
    with pytest.raises(NotebookError, match="secret"):
        check_parameters({"period": "2026-03", "smtp_password": "x"})


def test_notebooks_are_committed_clean():
    for path in (ROOT / "csreport" / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), path
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs (nbstripout)"


def _failing_notebook(tmp_path: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("period = None\ndata = None\nconfig = None\ntargets = None\noutput_dir = None\n"
                                  "on_invalid = 'stop'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('the numbers do not add up')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_failing_cell_keeps_the_earlier_report(report, tmp_path):
    out = report[0].parent
    before = {p.name: p.read_bytes() for p in report[0].iterdir()}
    source = write_company(tmp_path / "company")
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", out, "--quiet",
                           "--notebook", _failing_notebook(tmp_path))
    assert code == 4
    assert 'cell 3 of broken.ipynb ("raise ValueError(' in err
    assert "failed: ValueError: the numbers do not add up" in err
    failed = out / "2026-03.failed.ipynb"
    assert failed.exists() and "the numbers do not add up" in failed.read_text()
    assert {p.name: p.read_bytes() for p in report[0].iterdir()} == before  # untouched
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".2026-03.lock"]
    failed.unlink()


@pytest.mark.slow
def test_failed_cell_error_has_structured_fields(tmp_path):
    from csreport.report.execute import execute_notebook

    with pytest.raises(NotebookError) as caught:
        execute_notebook(_failing_notebook(tmp_path), tmp_path / "out.ipynb", {"period": "2026-03"}, progress=False)
    error = caught.value
    # cell 3 as the analyst sees it (papermill's injected-parameters cell is not counted)
    assert (error.cell_number, error.first_line) == (3, "raise ValueError('the numbers do not add up')")
    assert (error.exception_type, error.exception_message) == ("ValueError", "the numbers do not add up")
    assert error.exit_code == 4


@pytest.mark.slow
def test_invalid_data_in_run_exits_3_and_writes_no_report(tmp_path):
    source = write_company(tmp_path / "company", tickets=[("T1", "NOPE", "2026-03-02T10:00:00Z", "", "")])
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "out", "--quiet",
                           "--format", "html")
    assert code == 3
    assert "tickets.account_id: unknown account_id" in err
    assert not (tmp_path / "out" / "2026-03").exists()


@pytest.mark.slow
def test_report_narrative_segments_and_trends(report):
    from bs4 import BeautifulSoup

    html = (report[0] / "customer-success-report-2026-03.html").read_text()
    sentences = [li.get_text() for li in BeautifulSoup(html, "html.parser").select(".narrative li")]
    # NPS 25 with moe 196 * sqrt(0.6875 / 4) = 81.3, n = 4; no NPS answers in February -> no change words;
    # default target >= +40 missed by 15 pts, more than the amber 10 -> "misses ... by 15 pts"
    assert "NPS +25 (±81, n=4); misses the target of ≥ +40 by 15 pts." in sentences
    # MRR 610 -> 390 is a 36.1 % fall, and every part of the bridge is named
    assert "MRR fell 36.1% from $610 to $390 (−$220): +$40 new, +$70 reactivation, +$50 expansion, " \
           "−$80 contraction, −$300 churned." in sentences
    assert "By segment" in html and "Mid-Market" in html and 'class="num seg rag-red"' in html
    assert html.count("<svg") >= 6  # bridge, 4 trends, adoption, health mix: vector charts


SECRETS = {"CSREPORT_SMTP_PASSWORD": "smtp-secret-1", "GITHUB_TOKEN": "ghp-secret-2",
           "AWS_SECRET_ACCESS_KEY": "aws-secret-3", "DATABASE_URL": "postgresql://u:db-secret-4@h/db",
           "PGPASSWORD": "pg-secret-5", "CSREPORT_SMTP_USER": "smtp-user-6"}


@pytest.mark.slow
def test_kernel_environment_is_an_allow_list(tmp_path, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LANG", "C.UTF-8")
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("period = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import os\nprint(sorted(os.environ.items()))"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nbformat.write(nb, tmp_path / "env.ipynb")
    from csreport.report.execute import execute_notebook

    execute_notebook(tmp_path / "env.ipynb", tmp_path / "out.ipynb", {"period": "2026-03"}, progress=False)
    text = (tmp_path / "out.ipynb").read_text()
    assert "('LANG', 'C.UTF-8')" in text  # the cell did print the environment
    for name, value in SECRETS.items():
        assert name not in text and value not in text, name
        assert os.environ[name] == value  # this process keeps them (delivery needs the SMTP login)


def test_a_kernel_folder_left_by_a_killed_run_is_removed_by_the_next(tmp_path, monkeypatch):
    """SIGKILL leaves the kernel's private folder, with the pgpass file of a PostgreSQL source: the next
    kernel folder's maker removes the folders of processes that are gone, and only those."""
    import subprocess
    import sys

    from csreport.report.execute import _pgpass_file, kernel_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_path / f"csreport-kernel-{int(gone.stdout)}-x1"  # the pid of a process that has ended
    killed.mkdir()
    _pgpass_file(killed, "pg-secret")
    running = tmp_path / f"csreport-kernel-{os.getppid()}-x2"  # a live process's (pytest's parent) folder
    running.mkdir()
    unnamed = tmp_path / "csreport-kernel-abcd"  # no process id in its name: not ours to judge
    unnamed.mkdir()
    made = kernel_folder()
    assert not killed.exists() and running.is_dir() and unnamed.is_dir()
    assert made.parent == tmp_path and made.name.startswith(f"csreport-kernel-{os.getpid()}-")
    assert made.stat().st_mode & 0o777 == 0o700


def test_the_parent_of_a_run_starts_without_pandas():
    """`csreport run` starts the kernel first and imports pandas while it starts (issue 15: lazy imports in
    the parent): importing the command line and the run module must not import pandas (a type-only import
    of the account model once did, 0.27 s before the kernel could start)."""
    import subprocess
    import sys

    code = "import sys, csreport.cli, csreport.report.run; print('pandas' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"


def test_missing_pdf_engine_gives_a_clear_message(monkeypatch, tmp_path):
    import sys

    from csreport.errors import RenderError
    from csreport.report.render import to_pdf

    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as with missing Pango
    with pytest.raises(RenderError, match="apt-get install libpango"):
        to_pdf("<p>x</p>", tmp_path / "x.pdf", tmp_path)


@pytest.mark.slow
def test_report_with_only_the_required_tables(tmp_path):
    source = write_company(tmp_path / "company", surveys=None, tickets=None, events=None, referrals=None,
                           invoices=None)
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "out", "--quiet",
                           "--format", "html")
    assert code == 0, err
    html = (tmp_path / "out" / "2026-03" / "customer-success-report-2026-03.html").read_text()
    # one line names what is missing, instead of tiles, tables and pages of n/a
    assert "Not in this report: customer voice (the data source has no surveys table); support " \
           "(the data source has no tickets table); product engagement (the data source has no events table); " \
           "referrals (the data source has no referrals table); customer health (no events, surveys, tickets or " \
           "invoices table to score health from)." in html
    assert 'data-key="nps"' not in html and "Customer voice" not in html and "Customers most at risk" not in html
    assert "$390" in html and "n/a" in html  # revenue still reported (TTM n/a: no data a year back); nothing as 0


@pytest.mark.slow
def test_quarantined_rows_are_counted_in_the_report(tmp_path):
    from conftest import TICKETS

    tickets = TICKETS + [("T9", "NOPE", "2026-03-02T10:00:00Z", "", "")]
    source = write_company(tmp_path / "company", tickets=tickets)
    code, _, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp_path / "out", "--quiet",
                           "--format", "html", "--on-invalid", "quarantine")
    assert code == 0, err
    folder = tmp_path / "out" / "2026-03"
    assert (folder / "rejects" / "tickets.csv").exists()
    doc = json.loads((folder / "metrics.json").read_text())
    assert doc["data_quality"]["tickets"]["rejected"] == 1 and doc["metrics"]["tickets_created"] == 5
    html = (folder / "customer-success-report-2026-03.html").read_text()
    assert "tickets.account_id: unknown account_id in 1 row" in html
    assert '<span class="pill rag-amber">1</span>' in html


def test_notebooks_and_their_scripts_are_in_sync():
    import jupytext

    for path in (ROOT / "csreport" / "notebooks").glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        script = jupytext.read(path.with_suffix(".py"))
        assert [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in notebook.cells] == \
            [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in script.cells], \
            f"{path.name} and {path.stem}.py differ: run 'jupytext --sync {path.with_suffix('.py')}'"
        assert any("parameters" in c.metadata.get("tags", []) for c in script.cells)  # tags survive the pairing


def test_an_idle_kernel_is_not_interrupted_at_shutdown():
    """jupyter_client sends SIGINT before a shutdown request; a kernel caught in a handler then logs
    "KeyboardInterrupt caught in kernel" into cron logs. Our manager skips that interrupt while shutting down."""
    import asyncio

    from csreport.report.execute import _kernel_manager_class

    manager = _kernel_manager_class()()
    manager.shutting_down = True
    assert asyncio.run(manager._async_interrupt_kernel()) is None  # no signal, no error
    manager.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):  # otherwise the normal interrupt runs
        asyncio.run(manager._async_interrupt_kernel())


def test_a_bridge_without_any_mrr_has_one_zero_on_its_axis():
    # a book whose accounts had no MRR in either month (every movement 0): matplotlib's default scale
    # around 0 printed "$0" at every tick
    import re

    from csreport.report.charts import mrr_bridge

    zero = dict.fromkeys(["mrr_start", "mrr_new", "mrr_reactivation", "mrr_expansion", "mrr_contraction",
                          "mrr_churned", "mrr_end"], 0.0)
    svg = mrr_bridge(zero, "Mar 2026", "Feb 2026").svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "MRR bridge (no MRR in either month)" in texts
    # the start and end bars' labels and ONE tick (the five movements are labelled "+$0"), not a scale of "$0" ticks
    assert texts.count("$0") == 3 and texts.count("+$0") == 5
