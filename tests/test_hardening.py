"""Issue 14: no input, name, path, signal or mail server can break the monthly report or mislead its readers.

One section per class of the issue (email delivery, class 2, is in test_email.py with its SMTP server;
the kernel's allow-listed environment, class 8, in test_report.py). Then a fuzz test over the input
tables: every corruption gives exit 0 with the same metrics, or exit 3 naming the table (and the column
for a cell), and never a traceback.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import ACCOUNTS, EVENTS, REVENUE, SURVEYS, metrics_of, run_cli, write_company

PERIOD = "2026-03"


def metrics_run(source: Path, *extra: str, period: str = PERIOD) -> tuple[int, str, str]:
    code, out, err = run_cli("metrics", "--data", source, "--period", period, "--quiet", "--history",
                             source.parent / "no-history" / "history.sqlite", *extra)
    assert "Traceback" not in err, err
    return code, out, err


def fails_with(source: Path, *extra: str, code: int = 3) -> str:
    got, out, err = metrics_run(source, *extra)
    assert got == code, (got, err)
    assert out == ""
    return err


# -- 1. One comment cannot stop the month ---------------------------------------------------------------------


def test_a_huge_comment_is_cut_for_display_with_an_ellipsis_and_kept_nowhere(tmp_path):
    from csreport.text import COMMENT_CHARS

    huge = "slow " * 200_000 + "THE-END"  # 1 MB; S4 is the March detractor with a comment
    surveys = [s if s[0] != "S4" else (*s[:5], huge) for s in SURVEYS]
    doc = metrics_of(write_company(tmp_path / "s", surveys=surveys))
    shown = next(c for c in doc["comments"] if c["text"].startswith("slow"))
    assert len(shown["text"]) == COMMENT_CHARS and shown["text"].endswith("…")
    assert "THE-END" not in json.dumps(doc)  # the full text is nowhere in the model (metrics.json, notebook)


def test_bounded_text_rules():
    from csreport.text import clip, inert

    assert clip("short", 10) == "short"
    assert clip("x" * 20, 10) == "x" * 9 + "…"
    assert inert("evil\u202egnp.exe\u2066x\u2069") == "evilgnp.exex"
    assert inert("שלום عربي") == "שלום عربي"  # right-to-left scripts need no controls and keep their letters


def test_pdf_rendering_is_time_limited(tmp_path):
    from csreport.errors import RenderError
    from csreport.report.render import to_pdf

    page = "<p>" + "word " * 50_000 + "</p>"
    with pytest.raises(RenderError, match=r"took longer than 0.01 s and was stopped.*render_timeout_seconds"):
        to_pdf(page, tmp_path / "x.pdf", tmp_path, timeout_s=0.01)
    assert RenderError.exit_code == 5
    to_pdf("<p>fine</p>", tmp_path / "ok.pdf", tmp_path, timeout_s=60)  # a normal page prints as before
    assert (tmp_path / "ok.pdf").read_bytes().startswith(b"%PDF")


@pytest.mark.slow
def test_a_50_mb_comment_makes_a_normal_report_in_normal_time(tmp_path):
    import pypdf

    source = write_company(tmp_path / "company")
    rows = list(csv.reader((source / "surveys.csv").open(encoding="utf-8", newline="")))
    comment = rows[0].index("comment")
    rows[2][comment] = "x" * (50 * 1024 * 1024)  # S2, a March promoter: one 50 MB word
    rows[4][comment] = "slow support " * 80_000  # S4, a March detractor: 1 MB of words
    with (source / "surveys.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    assert (source / "surveys.csv").stat().st_size > 50 * 1024 * 1024
    started = time.perf_counter()
    code, _, err = run_cli("run", "--data", source, "--period", PERIOD, "--out", tmp_path / "reports", "--quiet")
    took = time.perf_counter() - started
    assert code == 0, err
    assert took < 120, took  # ~15 s here; a 1 MB comment used to take 212 s and 256 pages
    folder = tmp_path / "reports" / PERIOD
    pdf = pypdf.PdfReader(folder / f"customer-success-report-{PERIOD}.pdf")
    assert len(pdf.pages) < 15
    html = (folder / f"customer-success-report-{PERIOD}.html").read_text(encoding="utf-8")
    assert "x" * 599 + "…" in html and "x" * 601 not in html
    assert all(os.path.getsize(p) < 2_000_000 for p in folder.iterdir() if p.is_file())

    # the time limit: the same report with a limit too short to print it fails cleanly, exit 5
    config = tmp_path / "cs.yaml"
    config.write_text("report: {render_timeout_seconds: 0.01}\n")
    code, _, err = run_cli("run", "--data", source, "--period", PERIOD, "--out", tmp_path / "reports", "--quiet",
                           "--config", config)
    assert code == 5 and "took longer than 0.01 s" in err and "Traceback" not in err
    assert (folder / f"customer-success-report-{PERIOD}.pdf").exists()  # the earlier report is untouched


# -- 3. Paths are paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["co[12]", "co?", "co*", "co{1,2}", "c[o]"])
@pytest.mark.parametrize("parts", [False, True])
def test_a_data_folder_with_glob_characters_reads_exactly_its_own_files(tmp_path, name, parts):
    neighbour_events = [("A", f"n{i}", "neighbour_feature", "2026-03-03T10:00:00Z") for i in range(5)]
    source = write_company(tmp_path / name)
    plain = write_company(tmp_path / "plain")
    for neighbour in ("co1", "co2", "cox", "c", "co", "coo"):  # what each glob would match
        write_company(tmp_path / neighbour, events=neighbour_events)
    if parts:  # events as a folder of Parquet parts, the way the demo and big exports ship them
        for folder in (source, plain):
            events = pd.read_csv(folder / "events.csv", dtype=str)
            (folder / "events").mkdir()
            events.iloc[:3].to_parquet(folder / "events" / "part-0.parquet", index=False)
            events.iloc[3:].to_parquet(folder / "events" / "part-1.parquet", index=False)
            (folder / "events.csv").unlink()
    mine, reference = metrics_of(source), metrics_of(plain)
    assert mine["metrics"] == reference["metrics"]
    assert "neighbour_feature" not in mine["metrics"]["feature_adoption_pct"]
    assert mine["provenance"]["fingerprint"] == reference["provenance"]["fingerprint"]  # the same bytes were read


def test_out_with_braces_or_naming_a_file_is_a_clean_error(tmp_path, company):
    for out in (tmp_path / "reports-{period}", tmp_path / "x{y}"):
        code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", out, "--quiet")
        assert code == 2 and "holds '{' or '}'" in err and "Traceback" not in err
        assert not out.exists()
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", a_file, "--quiet")
    assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", a_file / "below", "--quiet")
    assert code == 2 and "cannot be written" in err and "Traceback" not in err


def test_a_read_only_out_is_a_clean_error(tmp_path, company, monkeypatch):
    out = tmp_path / "read-only"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the folder refuse writes as a read-only mount does
        import tempfile

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", out, "--quiet")
    assert code == 2 and "cannot be written (Permission denied)" in err and "Traceback" not in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["dangling", "loop"])
def test_a_broken_symlink_for_an_optional_table_is_an_error(tmp_path, kind):
    source = write_company(tmp_path / "s", tickets=None)
    if kind == "dangling":
        (source / "tickets.csv").symlink_to(tmp_path / "gone.csv")
    else:
        (source / "tickets.csv").symlink_to(source / "loop.csv")
        (source / "loop.csv").symlink_to(source / "tickets.csv")
    err = fails_with(source)
    assert "tickets: the file is a broken symbolic link" in err and "tickets.csv" in err


# -- 4. Names are text ----------------------------------------------------------------------------------------


HOSTILE_COMPANY = "</title><script>alert(1)</script> $\\frac{1}{2}$ Co"
HOSTILE_TITLE = "Report <b>bold</b> \u202eevil"


@pytest.mark.slow
def test_hostile_names_are_shown_literally_everywhere(tmp_path):
    """Mathtext, markup and bidi overrides in event, feature, segment, account and company names: a full run
    succeeds, and every name reads as the text it is. Also: a run after a killed one repairs what it left."""
    import pypdf

    events = [("A", "u1", "$\\frac{1}{0}$", "2026-03-01T05:00:00Z"), ("A", "u2", "$x^{$", "2026-03-02T10:00:00Z"),
              ("B", "u1", "<i>export</i>", "2026-03-31T23:59:59Z")] + EVENTS
    accounts = [(a, "Acme \u202eetile <script>x</script>" if a == "A" else n, "$\\sqrt{$" if s == "SMB" else s, d, o)
                for a, n, s, d, o in ACCOUNTS]
    source = write_company(tmp_path / "company", events=events, accounts=accounts)
    config = tmp_path / "cs.yaml"
    config.write_text(json.dumps({"report": {"company": HOSTILE_COMPANY, "title": HOSTILE_TITLE}}))
    out = tmp_path / "reports"
    # what a run killed between its two renames leaves: the old report aside, no OUT/P, a staging folder
    (out / f".{PERIOD}.old-1").mkdir(parents=True)
    (out / f".{PERIOD}.old-1" / "metrics.json").write_text("{}")
    (out / f".{PERIOD}.staging-abc").mkdir()
    code, _, err = run_cli("run", "--data", source, "--period", PERIOD, "--out", out, "--config", config, "--quiet")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [f".{PERIOD}.lock"]

    folder = out / PERIOD
    html = (folder / f"customer-success-report-{PERIOD}.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>bold</b>" not in html and "<i>export</i>" not in html
    assert "\u202e" not in html
    company, title = "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; $\\frac{1}{2}$ Co", "Report &lt;b&gt;bold"
    assert f"<title>{title}" in html and company + "</title>" in html  # the HTML title
    assert f'<div class="running-header">{company} · {title}' in html  # the running header of every page
    assert f'<div class="eyebrow">{company}</div>' in html and f"<h1>{title}" in html  # the masthead
    for literal in ("$\\frac{1}{0}$", "$x^{$", "&lt;i&gt;export&lt;/i&gt;", "$\\sqrt{$"):
        assert literal in html, literal  # chart labels and tables show the names as typed
    pdf = pypdf.PdfReader(folder / f"customer-success-report-{PERIOD}.pdf")
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "\u202e" not in text and "$\\frac{1}{2}$ Co" in text

    code, stdout, err = run_cli("email", "--period", PERIOD, "--out", out, "--config", config, "--dry-run",
                                "--to", "ceo@example.com")
    assert code == 0, err
    import email
    import email.policy

    message = email.message_from_bytes(Path(stdout.strip()).read_bytes(), policy=email.policy.default)
    body = message.get_body(("html",)).get_content()
    assert "<script>" not in body and "&lt;/title&gt;&lt;script&gt;" in body and "\u202e" not in body
    assert "\u202e" not in message.get_body(("plain",)).get_content()


def test_terminal_lines_show_control_characters_instead_of_obeying_them():
    from csreport.text import for_terminal

    # ESC (a colour, a cleared screen), BEL, CR (overwrites the line), DEL, the C1 CSI, a bidi override
    assert for_terminal("A\x1b[2J\x07x\ry\x7f\x9b31m\u202eZ") == "A\\x1b[2J\\x07x\\ry\\x7f\\x9b31m\\u202eZ"
    # line breaks and tabs of our own messages, accents, and joiners inside names are kept as they are
    assert for_terminal("two\nlines\tok é \u200cنام 👩\u200d💻") == "two\nlines\tok é \u200cنام 👩\u200d💻"


def test_an_escape_sequence_in_an_id_reaches_stderr_as_text(tmp_path, capsys):
    """An unknown account id holding a terminal escape (clear the screen) is named in the error, escaped;
    progress lines go through the same rule."""
    from csreport.progress import say

    source = write_company(tmp_path / "company", revenue=REVENUE + [("\x1b[2JX", "2026-03", 5)])
    err = fails_with(source)
    assert "\x1b" not in err and "\\x1b[2JX" in err, err
    say("Kenji\x1b]0;owned\x07: ok")
    assert capsys.readouterr().err == "[csreport] Kenji\\x1b]0;owned\\x07: ok\n"


def test_every_csv_the_product_writes_neutralises_formula_cells(tmp_path):
    formula = "=HYPERLINK(\"http://evil\",\"x\")"
    revenue = REVENUE + [("ZZZ", "2026-03", formula), ("ZZZ", "2026-02", "-5")]  # unknown account: set aside
    events = EVENTS + [("A", "", "@SUM(1+1)", "2026-03-05T00:00:00Z"), ("A", "", "-12.5", "2026-03-05T00:00:00Z"),
                       ("A", "", "\tTAB", "2026-03-05T00:00:00Z")]  # empty user_id: set aside
    source = write_company(tmp_path / "s", revenue=revenue, events=events)
    rejects = tmp_path / "rejects"
    code, _, err = metrics_run(source, "--on-invalid", "quarantine", "--rejects", rejects)
    assert code == 0, err
    revenue_rejects = list(csv.DictReader((rejects / "revenue.csv").open(encoding="utf-8")))
    assert [r["mrr"] for r in revenue_rejects] == ["'" + formula, "-5"]  # a plain number stays a number
    event_rejects = list(csv.DictReader((rejects / "events.csv").open(encoding="utf-8")))
    assert sorted(r["event"] for r in event_rejects) == ["'\tTAB", "'@SUM(1+1)", "-12.5"]

    from csreport.text import safe_cell

    for cell in ("=1+2", "+1+2", "-1+2", "@x", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert [safe_cell(v) for v in ("-3", "+4.5", 7, -1.5, "Acme", "")] == ["-3", "+4.5", 7, -1.5, "Acme", ""]


def test_health_csv_keeps_no_bidirectional_control_and_no_formula(tmp_path):
    from csreport.model import ReportModel
    from csreport.model.types import HealthRow
    from csreport.report.outputs import write_health_csv

    model = ReportModel.from_document(metrics_of(write_company(tmp_path / "company")))
    row = HealthRow(account_id="A", name="Evil\u202etxt.exe", segment="=1+2", mrr=100.0, health=None, band=None,
                    weakest=None)
    model = model.model_copy(update={"health": [row]})
    rows = list(csv.DictReader(write_health_csv(model, tmp_path).open(encoding="utf-8")))
    assert (rows[0]["name"], rows[0]["segment"]) == ("Eviltxt.exe", "'=1+2")


# -- 5. Quarantine never changes a number silently ------------------------------------------------------------


def test_an_account_with_rejected_revenue_rows_is_left_out_not_churned(tmp_path):
    # A's March row is broken: without it A would look churned (MRR 150 -> 0)
    revenue = [r if r[:2] != ("A", "2026-03") else ("A", "2026-03", "150 USD") for r in REVENUE]
    source = write_company(tmp_path / "s", revenue=revenue)
    code, out, err = metrics_run(source, "--on-invalid", "quarantine", "--rejects", tmp_path / "r")
    assert code == 0, err
    doc, clean = json.loads(out), metrics_of(write_company(tmp_path / "clean"))
    m, c = doc["metrics"], clean["metrics"]
    # by hand, A left out: February A 100 + B 200 + E 300 + F 10 = 610 -> 510; March 150 + 120 + 70 + 40 + 10 = 390
    # -> 240; customers B, E, F in February (3), B, C, D, F in March (4); E is still the one churned account
    assert (m["mrr_start"], m["mrr_end"], m["customers_start"], m["customers_end"]) == (510.0, 240.0, 3, 4)
    assert (c["mrr_start"], c["mrr_end"], c["customers_start"], c["customers_end"]) == (610.0, 390.0, 4, 5)
    assert m["customers_churned"] == 1 and m["mrr_churned"] == 300.0  # E only: A is not turned into churn
    assert m["mrr_expansion"] == 0.0  # A's +50 is not counted either
    revenue_quality = doc["data_quality"]["revenue"]
    assert revenue_quality["rejected"] == 1 and revenue_quality["excluded_accounts"] == 1
    assert any("1 account is left out of the revenue and customer metrics of 2026-03" in p and p.endswith(": A")
               for p in revenue_quality["problems"])
    # February does not read March's revenue: its numbers are the clean data's
    code, out, err = metrics_run(source, "--on-invalid", "quarantine", "--rejects", tmp_path / "r", period="2026-02")
    assert code == 0, err
    february = json.loads(out)
    assert february["metrics"] == metrics_of(write_company(tmp_path / "clean2"), "2026-02")["metrics"]
    assert february["data_quality"]["revenue"]["excluded_accounts"] == 0


def test_a_rejected_revenue_row_without_an_account_stops_the_run(tmp_path):
    source = write_company(tmp_path / "s", revenue=REVENUE + [("", "2026-03", 10)])
    err = fails_with(source, "--on-invalid", "quarantine", "--rejects", tmp_path / "r")
    assert "revenue.account_id: rejected revenue rows without an account_id (rows 15)" in err


@pytest.mark.parametrize("mode", ["stop", "quarantine"])
def test_a_table_whose_rows_are_all_rejected_stops_the_run(tmp_path, mode):
    surveys = [(*s[:3], "eleven", *s[4:]) for s in SURVEYS]
    err = fails_with(write_company(tmp_path / "s", surveys=surveys), "--on-invalid", mode, "--rejects", tmp_path / "r")
    assert "surveys.score" in err
    if mode == "quarantine":
        assert "surveys: every row is invalid" in err and "all 15 rows" in err
    events = [(a, u, e, "yesterday") for a, u, e, _ in EVENTS]
    err = fails_with(write_company(tmp_path / "e", events=events), "--on-invalid", mode, "--rejects", tmp_path / "r2")
    assert "events" in err and "occurred_at" in err


@pytest.mark.parametrize("twin", ["a", " A", "A ", "A\u200b", "\ufeffA"])
def test_near_duplicate_ids_are_a_data_problem(tmp_path, twin):
    accounts = ACCOUNTS + [(twin, "Twin", "SMB", "2025-01-01", "")]
    err = fails_with(write_company(tmp_path / "s", accounts=accounts))
    assert "accounts.account_id: near-duplicate id in 2 rows (rows 1, 14;" in err
    assert "differ only in case, surrounding spaces or invisible characters" in err


@pytest.mark.parametrize("hidden", ["\ufeff", "\u200b", "\u202e", "\u00ad"])
def test_an_invisible_character_in_a_counted_category_is_a_data_problem(tmp_path, hidden):
    # account B's segment 'SMB' with an invisible character would be a fourth segment that prints as 'SMB'
    accounts = [(a, n, hidden + s if a == "B" else s, d, o) for a, n, s, d, o in ACCOUNTS]
    err = fails_with(write_company(tmp_path / "s", accounts=accounts))
    assert "accounts.segment: invisible character in 1 row (rows 2;" in err and "Remove it from the source" in err
    # a name is words for people, never counted: the same character there changes no number
    named = [(a, n + hidden if a == "B" else n, s, d, o) for a, n, s, d, o in ACCOUNTS]
    assert metrics_of(write_company(tmp_path / "n", accounts=named))["metrics"] == metrics_of(
        write_company(tmp_path / "plain"))["metrics"]


@pytest.mark.parametrize("column, cell, accepted", [
    ("score", "9.0", True), ("score", " 9 ", True), ("score", "+9", True), ("score", "1e1", False),
    ("score", "9.5", False), ("score", "1e20", False), ("score", "100000000000000000000", False),
    ("score", "0x9", False), ("score", "9,0", False),
    ("responded_at", "2026-03-10", True), ("responded_at", "2026-03-10 10:00", True),
    ("responded_at", "2026-03-10T10:00:00.123456+0100", True), ("responded_at", "2026/03/10", False),
    ("responded_at", "20260310", False), ("responded_at", "2026-3-10", False), ("responded_at", "10.03.2026", False),
    ("responded_at", "2026-02-30", False), ("responded_at", "2026-03-10T25:00", False),
])
def test_number_and_timestamp_formats_are_accepted_by_a_written_rule_or_rejected(tmp_path, column, cell, accepted):
    # S5 is a March NPS response, score 8, at 2026-03-01T00:00:00Z; each cell keeps it a March passive or breaks it
    index = 3 if column == "score" else 4
    value = {"score": {"9.0": "8.0", " 9 ": " 8 ", "+9": "+8"}.get(cell, cell)}.get(column, cell)
    surveys = [(*s[:index], value, *s[index + 1:]) if s[0] == "S5" else s for s in SURVEYS]
    source = write_company(tmp_path / "s", surveys=surveys)
    code, out, err = metrics_run(source)
    if accepted:
        assert code == 0, err
        assert json.loads(out)["metrics"]["nps"] == metrics_of(write_company(tmp_path / "c"))["metrics"]["nps"]
    else:
        assert code == 3 and f"surveys.{column}: unparsable" in err and repr(value) in err, err


@pytest.mark.parametrize("column, cell, accepted", [
    ("month", "2026-03", True), ("month", "2026-03-01", True), ("month", "2026-9", False), ("month", "2026/03", False),
    ("month", "202603", False), ("month", "2026-03-02", False), ("mrr", "1.5e2", True), ("mrr", "150.", True),
    ("mrr", "1,500", False), ("mrr", "1e308", False), ("mrr", "inf", False), ("mrr", "NaN", False),
    ("mrr", "150 USD", False),
])
def test_month_and_amount_formats(tmp_path, column, cell, accepted):
    index = 1 if column == "month" else 2
    revenue = [(*r[:index], cell, *r[index + 1:]) if r[:2] == ("A", "2026-03") else r for r in REVENUE]
    code, out, err = metrics_run(write_company(tmp_path / "s", revenue=revenue))
    if accepted:  # the same month and the same 150
        assert code == 0, err
        assert json.loads(out)["metrics"] == metrics_of(write_company(tmp_path / "c"))["metrics"]
    else:
        assert code == 3 and f"revenue.{column}:" in err and repr(cell) in err, err


def test_summed_amounts_cannot_overflow(tmp_path):
    revenue = REVENUE + [("O1", "2026-03", "9e14"), ("O2", "2026-03", "9.9e14")]
    code, out, err = metrics_run(write_company(tmp_path / "s", revenue=revenue))
    assert code == 0, err
    assert json.loads(out)["metrics"]["mrr_end"] == pytest.approx(390 + 9e14 + 9.9e14)
    err = fails_with(write_company(tmp_path / "t", revenue=REVENUE + [("O1", "2026-03", "1e308")] * 1))
    assert "revenue.mrr: number too large in 1 row (rows 15; values '1e308')" in err


@pytest.mark.parametrize("mode", ["stop", "quarantine"])
@pytest.mark.parametrize("broken, rule, rows", [
    ('A,Acme,SMB,2025-01-01,2025-01-10,extra\n', "wrong number of fields", "row 14: 6 fields"),
    ('A2,Acme,SMB\n', "wrong number of fields", "row 14: 3 fields"),
    ('A2,"Acme,SMB,2025-01-01,\n', "a quote is never closed", "data row 14"),
])
def test_csv_rows_with_the_wrong_shape_are_bad_input_with_row_numbers(tmp_path, mode, broken, rule, rows):
    source = write_company(tmp_path / "s")
    with (source / "accounts.csv").open("a", encoding="utf-8") as handle:
        handle.write(broken)
    err = fails_with(source, "--on-invalid", mode, "--rejects", tmp_path / "r")
    assert f"accounts: {rule}" in err and rows in err and "accounts.csv" in err


def test_a_duplicated_header_is_bad_input(tmp_path):
    source = write_company(tmp_path / "s")
    text = (source / "revenue.csv").read_text().replace("account_id,month,mrr", "account_id,month,mrr,mrr", 1)
    (source / "revenue.csv").write_text(text.replace("\n", ",1\n").replace("mrr,mrr,1", "mrr,mrr", 1))
    err = fails_with(source)
    assert "revenue.mrr: duplicated column name" in err
    events = (source / "events.csv").read_text().replace("occurred_at", "event", 1)
    (source / "revenue.csv").write_text(write_company(tmp_path / "c").joinpath("revenue.csv").read_text())
    (source / "events.csv").write_text(events)
    assert "events.event: duplicated column name" in fails_with(source)


# The events CSV is read by DuckDB, not by Python's csv module: the same damage must be named as exactly. The
# hand company's events.csv ends its lines with LF: the header is line 1, its 7 rows lines 2-8, so an appended
# row is line 9.
@pytest.mark.parametrize("appended, rule, said", [
    (b"A,u1,login,2026-03-02T00:00:00Z,extra\n", "wrong number of fields",
     "line 9 of the file ('A,u1,login,2026-03-02T00:00:00Z,extra'): the header has 4 fields, this line 5"),
    (b"A,u1,login\n", "wrong number of fields",
     "line 9 of the file ('A,u1,login'): the header has 4 fields, this line 3"),
    (b'A,"u1,login,2026-03-02T00:00:00Z\nA,u1,login,2026-03-02T00:00:00Z\n', "a quote is never closed", "line 9"),
    (b"A,u\xe9,login,2026-03-02T00:00:00Z\n", "the file is not UTF-8", "line 9 of the file: Re-export"),
    (b"A,u1,login,2026-03-02T00:00:00Z\r\n", "mixed line endings", "line 1 ends with LF (\\n), line 9 with CRLF"),
])
@pytest.mark.parametrize("mode", ["stop", "quarantine"])
def test_a_malformed_events_csv_names_its_line(tmp_path, appended, rule, said, mode):
    source = write_company(tmp_path / "s")
    with (source / "events.csv").open("ab") as handle:
        handle.write(appended)
    err = fails_with(source, "--on-invalid", mode, "--rejects", tmp_path / "r")
    assert f"events: {rule}. {source / 'events.csv'}" in err and said in err, err


def test_events_csv_with_crlf_endings_a_bom_or_a_quoted_line_break_reads_as_the_lf_file(tmp_path):
    plain = metrics_of(write_company(tmp_path / "lf"))
    source = write_company(tmp_path / "crlf")
    text = (source / "events.csv").read_bytes()
    (source / "events.csv").write_bytes(b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"))
    assert metrics_of(source)["metrics"] == plain["metrics"]
    # a quoted cell may hold a line break: this event counts once more for user u1 of account A in March
    quoted = write_company(tmp_path / "quoted")
    with (quoted / "events.csv").open("ab") as handle:
        handle.write(b'A,u1,"two\nlines",2026-03-02T00:00:00Z\n')
    adoption = metrics_of(quoted)["metrics"]["feature_adoption_pct"]
    assert "two\nlines" in adoption, adoption


@pytest.mark.parametrize("content, said", [
    (b"", "events: the file is empty"),
    (b"account_id,user_id,,occurred_at\nA,u1,login,2026-03-02T00:00:00Z\n", "events: a column has no name"),
    (b"account_id,user_id,\xe9vent,occurred_at\n", "events: the file is not UTF-8. "),
])
def test_a_bad_events_csv_header_is_bad_input(tmp_path, content, said):
    source = write_company(tmp_path / "s")
    (source / "events.csv").write_bytes(content)
    assert said in fails_with(source)


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 4, 1 << 24])
def test_mixed_line_endings_are_found_across_read_chunks(tmp_path, chunk_bytes):
    from csreport.data.source import _mixed_line_endings

    path = tmp_path / "x.csv"
    path.write_bytes(b"h\r\na\r\nb\nc\r\n")  # CRLF, CRLF, then LF on line 3
    assert _mixed_line_endings(path, chunk_bytes) == (3, "CRLF (\\r\\n)", "LF (\\n)")
    path.write_bytes(b"h\na\n\nb\r\n")  # an empty line 3 ends with LF too; line 4 with CRLF
    assert _mixed_line_endings(path, chunk_bytes) == (4, "LF (\\n)", "CRLF (\\r\\n)")
    path.write_bytes(b"h\r\na\r\n")
    assert _mixed_line_endings(path, chunk_bytes) is None


# -- 6. No tracebacks -----------------------------------------------------------------------------------------


def _garbage_events_parquet(source: Path) -> None:
    (source / "events.csv").unlink()
    (source / "events.parquet").write_bytes(b"PAR1 this is not parquet at all")


def _truncated_accounts_parquet(source: Path) -> None:
    frame = pd.read_csv(source / "accounts.csv", dtype=str)
    frame.to_parquet(source / "accounts.parquet", index=False)
    (source / "accounts.csv").unlink()
    data = (source / "accounts.parquet").read_bytes()
    (source / "accounts.parquet").write_bytes(data[: len(data) // 2])


def _truncated_events_parquet(source: Path) -> None:
    frame = pd.read_csv(source / "events.csv", dtype=str)
    (source / "events.csv").unlink()
    frame.to_parquet(source / "events.parquet", index=False)
    data = (source / "events.parquet").read_bytes()
    (source / "events.parquet").write_bytes(data[:-20])


def _folder_for_a_file(source: Path) -> None:
    (source / "tickets.csv").unlink()
    (source / "tickets.csv").mkdir()


def _empty_parts_folder(source: Path) -> None:
    (source / "events.csv").unlink()
    (source / "events").mkdir()


def _not_utf8(source: Path) -> None:
    (source / "surveys.csv").write_bytes((source / "surveys.csv").read_bytes().replace(b"slow", b"sl\xf6w"))


def _utf16(source: Path) -> None:
    (source / "tickets.csv").write_bytes((source / "tickets.csv").read_text(encoding="utf-8").encode("utf-16"))


def _utf16_events(source: Path) -> None:
    (source / "events.csv").write_bytes((source / "events.csv").read_text(encoding="utf-8").encode("utf-16"))


@pytest.mark.parametrize("damage, said", [
    (_garbage_events_parquet, "events: "),
    (_truncated_accounts_parquet, "accounts: the file cannot be read"),
    (_truncated_events_parquet, "events: "),
    (_folder_for_a_file, "tickets.csv is a folder, not a file"),
    (_empty_parts_folder, "events: the folder holds no Parquet file"),
    (_not_utf8, "surveys: the file is not UTF-8"),
    (_utf16, "tickets: the file is UTF-16, not UTF-8. "),
    (_utf16_events, "events: the file is UTF-16, not UTF-8. "),
])
def test_broken_files_are_bad_input_never_a_traceback(tmp_path, damage, said):
    source = write_company(tmp_path / "s")
    damage(source)
    assert said in fails_with(source)


def test_an_unreadable_file_is_bad_input(tmp_path, monkeypatch):
    source = write_company(tmp_path / "s")
    (source / "tickets.csv").chmod(0o000)
    if os.geteuid() == 0:  # root reads anything: refuse the read as the file system would for anyone else
        real = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path.name == "tickets.csv":
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    assert "tickets.csv cannot be read (permission denied)" in fails_with(source)


@pytest.mark.parametrize("table, misnamed", [("tickets", "Tickets.csv"), ("tickets", "ticket.csv"),
                                             ("accounts", "ACCOUNTS.CSV"), ("events", "Events.parquet")])
def test_a_table_file_under_a_near_name_is_an_error_not_a_missing_table(tmp_path, table, misnamed):
    source = write_company(tmp_path / "s")
    (source / f"{table}.csv").rename(source / misnamed)
    expected = f"{table}.{misnamed.rsplit('.', 1)[1].lower()}"
    assert (f"table {table}: found {misnamed} in {source}, not {expected}; table files are named in lower case, "
            f"plural. Rename it to {expected}, or name it in the config: 'tables: {{{table}: {misnamed}}}'") \
        in fails_with(source)


def test_a_garbage_duckdb_file_is_bad_input(tmp_path):
    garbage = tmp_path / "company.duckdb"
    garbage.write_bytes(b"this is no database" * 100)
    assert "is not a DuckDB database DuckDB can open" in fails_with(garbage)


def test_a_sqlite_file_is_named_as_such_and_never_fetches_an_extension(tmp_path, company):
    import sqlite3

    from csreport.config import Config
    from csreport.data.source import open_source

    path = tmp_path / "company.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE accounts (account_id TEXT)")
    assert "(it is a SQLite database; export its tables to CSV or Parquet" in fails_with(path)
    # DuckDB would otherwise download and load its sqlite extension for such a file: input never fetches code
    connection = open_source(company, Config()).connection
    assert connection.sql("SELECT current_setting('autoinstall_known_extensions'), "
                          "current_setting('autoload_known_extensions')").fetchall() == [(False, False)]


@pytest.mark.parametrize("period", ["0000-01", "9999-12", "1899-12", "2200-01"])
def test_periods_outside_the_supported_range_are_argument_errors(company, period):
    for command in ("metrics", "run"):
        code, _, err = run_cli(command, "--data", company, "--period", period)
        assert code == 2 and "outside the supported range 1900-01 to 2199-12" in err and "Traceback" not in err


def test_the_first_and_last_supported_periods_compute(company):
    for period in ("1900-01", "2199-12"):
        doc = metrics_of(company, period)
        assert doc["metrics"]["customers_end"] == 0 and doc["metrics"]["mrr_end"] == 0.0


def test_a_period_outside_the_revenue_months_says_so_in_the_data_quality(company):
    # the hand company's revenue months are 2026-01 … 2026-03
    def revenue_problems(period: str) -> list[str]:
        return metrics_of(company, period)["data_quality"]["revenue"]["problems"]

    after = metrics_of(company, "2026-04")
    assert after["metrics"]["customers_end"] == 0  # SPEC §3: no revenue row = MRR 0, computed as the formulas say
    assert after["data_quality"]["revenue"]["problems"] == [
        "the revenue table ends at 2026-03: no account has revenue in 2026-04, so every customer of 2026-03 counts as "
        "churned. Add 2026-04's revenue rows, or report an earlier month"]
    assert revenue_problems("2025-12") == [
        "the revenue table starts at 2026-01: no account has revenue in 2025-12, so it has no customers and no revenue"]
    assert revenue_problems("2026-03") == [] and revenue_problems("2026-01") == []


def test_a_month_not_over_is_computed_and_says_so(company):
    from datetime import UTC, date, datetime

    from csreport.benchmark.history import History
    from csreport.benchmark.targets import targets_for
    from csreport.config import Config
    from csreport.data import load_dataset
    from csreport.model import ModelOptions, build_model
    from csreport.periods import Period
    from csreport.report.formatting import period_heading
    from csreport.report.narrative import gaps

    config = Config()
    dataset = load_dataset(company, config, quiet=True)

    def model(made_at: datetime):
        return build_model(dataset, Period(2026, 3), config, targets_for(config, None), None,
                           options=ModelOptions(made_at=made_at))

    during = model(datetime(2026, 3, 20, 12, tzinfo=UTC))
    assert during.unfinished_as_of == date(2026, 3, 20)
    line = ("March 2026 was not over when these figures were computed (20 March 2026, UTC): they cover the month so "
            "far. Counts and totals are partial, and daily averages (DAU) divide by all 31 days.")
    assert line in str(gaps(during))
    assert during.document()["unfinished_as_of"] == "2026-03-20"
    before = model(datetime(2026, 2, 27, 9, tzinfo=UTC))
    assert ("March 2026 had not begun when these figures were computed (27 February 2026, UTC): none of its activity "
            "is in them.") in str(gaps(before))
    assert period_heading(Period(2026, 3), during.unfinished_as_of) == "March 2026 (to 20 March)"
    assert period_heading(Period(2026, 3), before.unfinished_as_of) == "March 2026 (not begun)"
    after = model(datetime(2026, 4, 1, tzinfo=UTC))  # end(P): the month is over
    assert after.unfinished_as_of is None and "was not over" not in str(gaps(after))
    assert period_heading(Period(2026, 3), after.unfinished_as_of) == "March 2026"
    # the numbers are those of the rows, whenever they are computed: the sentence is the only difference
    assert during.metrics == after.metrics

    # the command line: this month (by the clock) is not over, and `metrics` says so on stderr even with --quiet
    this_month = Period.last_complete().shift(1)
    code, out, err = run_cli("metrics", "--data", company, "--period", str(this_month), "--quiet")
    assert code == 0 and f"warning: {this_month.label} was not over when these figures were computed" in err
    assert json.loads(out)["unfinished_as_of"] is not None
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--quiet")
    assert code == 0 and err == ""
    # backfill records the months that are over, and not this one (its values so far would stand for the month)
    history = Path("h.sqlite")
    code, out, err = run_cli("backfill", "--data", company, "--from", this_month.previous, "--to", this_month,
                             "--history", history, "--quiet")
    assert code == 0 and out.strip() == f"1 period recorded in h.sqlite ({this_month} not over yet: not recorded)"
    assert "It is not recorded in the history: run the month again once it is over." in err
    held = History(history).read([str(this_month.previous), str(this_month)])
    assert list(held) == [str(this_month.previous)]


def test_without_period_the_commands_take_the_last_month_over_in_the_config_time_zone(company, tmp_path,
                                                                                       monkeypatch):
    from datetime import UTC, datetime

    import csreport.periods

    class April1At0300Z(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 4, 1, 3, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(csreport.periods, "datetime", April1At0300Z)
    config_path = tmp_path / "la.yaml"
    config_path.write_text("timezone: America/Los_Angeles\n")
    code, out, err = run_cli("metrics", "--data", company, "--quiet", "--history", tmp_path / "none.sqlite")
    assert code == 0 and json.loads(out)["period"] == "2026-03", err  # UTC: 1 April, March is over
    # Los Angeles (UTC-7 in daylight time): 20:00 on 31 March, so February is the last month over there
    code, out, err = run_cli("metrics", "--data", company, "--quiet", "--config", config_path,
                             "--history", tmp_path / "none.sqlite")
    assert code == 0 and json.loads(out)["period"] == "2026-02", err


@pytest.mark.slow
def test_run_for_a_period_before_the_data_starts(tmp_path, company):
    code, _, err = run_cli("run", "--data", company, "--period", "2024-01", "--out", tmp_path / "r", "--quiet")
    assert code == 0, err
    doc = json.loads((tmp_path / "r" / "2024-01" / "metrics.json").read_text())
    assert doc["metrics"]["customers_end"] == 0 and doc["comparison"]["mrr_end"]["previous"] is None


@pytest.mark.slow
def test_sigterm_stops_a_run_cleanly_and_the_password_file_exists_only_for_postgresql(tmp_path, company,
                                                                                       monkeypatch):
    """cron, systemd and `timeout` stop a run with SIGTERM: it must clean up as Ctrl-C does (exit 143, no
    staging folder, no kernel or its private folder left), and a PGPASSWORD in the environment is written to
    the kernel's pgpass file only when the data source is PostgreSQL (here a folder: never)."""
    import signal

    import csreport.report.run as run_module
    from csreport.report.execute import kernel_password
    from csreport.report.warm import WarmKernel

    monkeypatch.setenv("PGPASSWORD", "S3cr3t-never-on-disk")
    assert kernel_password(str(company)) is None
    assert kernel_password("postgresql://reporter@db.example/cs") == "S3cr3t-never-on-disk"
    kernels: list[WarmKernel] = []
    start = WarmKernel.start

    def recorded_start(self: WarmKernel) -> None:
        kernels.append(self)
        start(self)
        assert not (self.folder / "pgpass").exists()  # a folder source: no password file

    def stopped(*args, **kwargs):  # SIGTERM arrives while the report is being rendered
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # never reached: the handler raises in this thread
        raise AssertionError("SIGTERM did not stop the run")

    monkeypatch.setattr(WarmKernel, "start", recorded_start)
    monkeypatch.setattr(run_module, "to_html", stopped)
    before = signal.getsignal(signal.SIGTERM)
    out = tmp_path / "reports"
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", out, "--quiet")
    assert code == 143 and "csreport: stopped (SIGTERM)" in err and "Traceback" not in err, err
    assert sorted(p.name for p in out.iterdir()) == [f".{PERIOD}.lock"]  # no staging folder, no report
    assert len(kernels) == 1 and not kernels[0].folder.exists() and kernels[0].km is None  # shut down, removed
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back


# -- 7. Publish and history agree -----------------------------------------------------------------------------


def _published_model(tmp_path: Path):
    from csreport.model import ReportModel

    return ReportModel.from_document(metrics_of(write_company(tmp_path / "company")))


def _stage(out: Path, model, name: str = ".2026-03.staging-x") -> Path:
    from csreport.report.outputs import write_metrics_json

    stage = out / name
    stage.mkdir(parents=True)
    write_metrics_json(model, stage)
    return stage


def test_a_kill_between_publishing_and_recording_is_recorded_by_the_next_run(tmp_path, monkeypatch):
    from csreport.benchmark.history import History
    from csreport.periods import Period
    from csreport.report import publish

    model, out = _published_model(tmp_path), tmp_path / "reports"
    history = History(out / "history.sqlite")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies right after the swap

    monkeypatch.setattr(publish, "record", killed)
    with pytest.raises(KeyboardInterrupt):
        publish.publish_and_record(_stage(out, model), out / PERIOD, model, history)
    assert (out / PERIOD / publish.UNRECORDED).exists() and not history.path.exists()
    monkeypatch.undo()
    publish.recover(out, Period.parse(PERIOD))
    assert not (out / PERIOD / publish.UNRECORDED).exists()
    assert History(history.path).read([PERIOD])[PERIOD]["mrr_end"][0] == 390.0  # history agrees with the report


def test_a_kill_between_the_two_renames_leaves_a_recoverable_report(tmp_path):
    from csreport.periods import Period
    from csreport.report import publish

    model, out = _published_model(tmp_path), tmp_path / "reports"
    old = _stage(out, model, f".{PERIOD}.old-17")  # the earlier report, moved aside; the new one never arrived
    _stage(out, model, f".{PERIOD}.staging-abc")
    (out / f".{PERIOD}.old-3").mkdir()  # an even older leftover
    (out / "2026-02").mkdir()
    (out / ".2026-02.staging-x").mkdir()  # another period's folders are not this run's business
    publish.recover(out, Period.parse(PERIOD))
    assert not old.exists() and (out / PERIOD / "metrics.json").exists()
    assert sorted(p.name for p in out.iterdir()) == [".2026-02.staging-x", "2026-02", PERIOD]


def test_recording_fails_puts_the_earlier_report_back(tmp_path, monkeypatch):
    from csreport.benchmark.history import History
    from csreport.errors import HistoryError
    from csreport.report import publish

    model, out = _published_model(tmp_path), tmp_path / "reports"
    (out / PERIOD).mkdir(parents=True)
    (out / PERIOD / "earlier.txt").write_text("the report published before")

    def broken(*args, **kwargs):
        raise HistoryError("disk full")

    monkeypatch.setattr(publish, "record", broken)
    stage = _stage(out, model)
    with pytest.raises(HistoryError):
        publish.publish_and_record(stage, out / PERIOD, model, History(out / "history.sqlite"))
    assert sorted(p.name for p in (out / PERIOD).iterdir()) == ["earlier.txt"]
    shutil.rmtree(stage)
    assert sorted(p.name for p in out.iterdir()) == [PERIOD]


# -- 8. Command-line mistakes and a refusing system: clean errors with their exit code -----------------------


def test_a_notebook_that_is_missing_or_not_a_notebook_is_an_argument_error(tmp_path, company):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json\n", encoding="utf-8")
    for notebook, said in ((tmp_path / "nope.ipynb", "does not exist"), (tmp_path, "is a folder"),
                           (bad, "is not a Jupyter notebook csreport can read (Notebook does not appear to be JSON")):
        code, out, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", tmp_path / "r",
                                 "--notebook", notebook, "--quiet")
        assert (code, out) == (2, "") and f"--notebook {notebook} {said}" in err and "Traceback" not in err, err
    assert not (tmp_path / "r" / PERIOD).exists()


@pytest.mark.slow
def test_a_notebook_without_language_metadata_runs_in_python(tmp_path, company):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("period = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('month', period)")])
    notebook.metadata = {}  # written by hand or by a tool: no kernelspec, no language_info
    path = tmp_path / "plain.ipynb"
    nbformat.write(notebook, str(path))
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", tmp_path / "r", "--notebook", path,
                           "--format", "html", "--quiet")
    assert code == 0, err
    executed = nbformat.read(str(tmp_path / "r" / PERIOD / "plain.ipynb"), as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == f"month {PERIOD}\n"  # the parameter reached the kernel


def test_demo_arguments_are_checked(tmp_path):
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    assert run_cli("demo", "--out", tmp_path / "afile")[::2] == (2, f"csreport: error: --out {tmp_path / 'afile'} is "
                                                                "a file; name a folder for the demo data\n")
    assert run_cli("demo", "--out", tmp_path / "d", "--scale", "-1")[::2] == (
        2, "csreport: error: --scale must be positive, got -1\n")


def test_a_full_disk_is_a_clean_error_and_publishes_nothing(tmp_path, company, monkeypatch):
    import errno

    import csreport.report.run as run_module

    def full(model, folder):
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "metrics.json"))

    monkeypatch.setattr(run_module, "write_metrics_json", full)
    out = tmp_path / "reports"
    code, _, err = run_cli("run", "--data", company, "--period", PERIOD, "--out", out, "--format", "html", "--quiet")
    assert code == 1 and "Traceback" not in err
    assert err.startswith("csreport: error: No space left on device: ") and "metrics.json. Fix this and run again." \
        in err, err
    assert sorted(p.name for p in out.iterdir()) == [f".{PERIOD}.lock"]  # no staging folder, no report
