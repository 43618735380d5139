"""`csreport batch`: a report per CSM, segment or account from one load of the hand-computed company.

The company of conftest.py, period March 2026 (31 days, end 2026-04-01T00:00Z), with a ``csm``
column added here. The books:

    "Kim Lee"          A, B      \
    "kim/lee"          C, D       > the first two give the same slug: both folders get a digest
    "../<b>Eve</b>"    E, F      /  a path and HTML in a name
    ".."               O5        a book with no data in the period
    no CSM             G, O1, O2, O3, O4, O6

and account G renamed "../../etc <i>passwd</i>". Every expected number below is worked out by hand
from the rows in conftest.py; the comments show the arithmetic.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli, write_company

from csreport.batch.groups import find_groups, safe_folders, slug
from csreport.benchmark.targets import targets_for
from csreport.config import Config
from csreport.data import load_dataset
from csreport.model import ModelOptions
from csreport.model.account import MonthHealth, discussion
from csreport.model.books import BookBuilder
from csreport.periods import Period
from csreport.report.kernel import account_models

MARCH = Period.parse("2026-03")
CSM = {"A": "Kim Lee", "B": "Kim Lee", "C": "kim/lee", "D": "kim/lee", "E": "../<b>Eve</b>", "F": "../<b>Eve</b>",
       "O5": ".."}
G_NAME = "../../etc <i>passwd</i>"
SAFE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def with_csm(folder: Path) -> Path:
    """The company with a csm column (and a hostile name for G)."""
    path = folder / "accounts.csv"
    accounts = pd.read_csv(path, dtype=str, keep_default_na=False)
    accounts["csm"] = accounts["account_id"].map(CSM).fillna("")
    # where `email --batch` sends a book, when the config names no address: Eve's accounts carry hers
    accounts["csm_email"] = accounts["account_id"].map({"E": "eve@example.com", "F": "eve@example.com"}).fillna("")
    accounts.loc[accounts["account_id"] == "G", "name"] = G_NAME
    accounts.to_csv(path, index=False)
    return folder


@pytest.fixture(scope="module")
def books_company(tmp_path_factory) -> Path:
    return with_csm(write_company(tmp_path_factory.mktemp("books") / "company"))


@pytest.fixture(scope="module")
def dataset(books_company):
    return load_dataset(books_company, Config(), quiet=True)


# --- groups and folders -------------------------------------------------------------------------

def test_folder_names_are_safe_and_never_collide():
    names = {"1": "../../etc/passwd", "2": "Kim Lee", "3": "kim/lee", "4": "..", "5": "<b>x</b>", "6": "",
             "7": "Chloé Dubois", "8": "a\\b", "9": "kim-lee-" + "0" * 8}
    folders = safe_folders(names)
    assert len(set(folders.values())) == len(names)
    for folder in folders.values():
        assert SAFE.match(folder) and ".." not in folder and "/" not in folder
    assert folders["7"] == "chloe-dubois"  # a name that is unique stays readable
    assert slug("..") == "group" and slug("<b>x</b>") == "b-x-b"
    # "Kim Lee" and "kim/lee" both slug to kim-lee: each gets a digest of its own key
    assert folders["2"].startswith("kim-lee-") and folders["3"].startswith("kim-lee-")


def test_groups_by_csm_and_only(dataset):
    groups, without = find_groups(dataset.accounts, "csm")
    assert [(g.key, sorted(g.accounts)) for g in groups] == [
        ("..", ["O5"]), ("../<b>Eve</b>", ["E", "F"]), ("Kim Lee", ["A", "B"]), ("kim/lee", ["C", "D"])]
    assert without == ["G", "O1", "O2", "O3", "O4", "O6"]
    folders = {g.key: g.folder for g in groups}
    only, _ = find_groups(dataset.accounts, "csm", ["kim/lee"])
    assert only[0].folder == folders["kim/lee"]  # --only gives the folder a full batch gives
    accounts, _ = find_groups(dataset.accounts, "account", ["G"])
    assert accounts[0].label == G_NAME and SAFE.match(accounts[0].folder)
    with pytest.raises(Exception, match="Nobody"):
        find_groups(dataset.accounts, "csm", ["Nobody"])


def test_only_names_a_group_whose_name_holds_a_comma():
    from csreport.batch.groups import named

    known = {"Shah, Priya", "Kenji Sato", "Lee,Kim", "A", "A, B"}
    # what the command line gives for --only "Shah, Priya,Kenji Sato,Lee,Kim,Nobody" (split on commas, stripped)
    assert named(["Shah", "Priya", "Kenji Sato", "Lee", "Kim", "Nobody"], known) == [
        "Shah, Priya", "Kenji Sato", "Lee,Kim", "Nobody"]  # 'Nobody' stays, to be reported as unknown
    assert named(["A", "B"], known) == ["A, B"]  # the longest known name first
    assert named(["Kenji Sato"], known) == ["Kenji Sato"]
    accounts = pd.DataFrame({"account_id": ["X1", "X2"], "name": ["x", "y"], "csm": ["Shah, Priya", "Kenji Sato"]})
    groups, _ = find_groups(accounts, "csm", ["Shah", "Priya"])
    assert [(g.key, sorted(g.accounts)) for g in groups] == [("Shah, Priya", ["X1"])]


# --- the account model, by hand -----------------------------------------------------------------

@pytest.fixture(scope="module")
def accounts(dataset):
    builder = account_models(dataset, MARCH, Config())
    return builder, {a: builder.build(a) for a in ("A", "C", "E", "G", "O5")}


def test_an_account_review_of_a_month_not_over_says_so(dataset, accounts):
    from datetime import UTC, date, datetime

    from csreport.report.account import status_line

    during = account_models(dataset, MARCH, Config(), ModelOptions(made_at=datetime(2026, 3, 20, 12, tzinfo=UTC)))
    a = during.build("A")
    assert a.unfinished_as_of == date(2026, 3, 20)
    assert ("March 2026 was not over when these figures were computed (20 March 2026, UTC): they cover the month so "
            "far.") in str(status_line(a))
    # the same numbers as the review made after the month: only the sentence differs
    over = accounts[1]["A"]
    assert over.unfinished_as_of is None and "was not over" not in str(status_line(over))
    assert a.metrics == over.metrics and a.health == over.health


def test_one_engine_pass_for_every_account(accounts):
    builder, _ = accounts
    assert builder.data.events.passes == 1


def test_account_a(accounts):
    a = accounts[1]["A"]
    assert a.months[0] == "2025-04" and a.months[-1] == "2026-03"
    # revenue starts in 2026-01: earlier months are unknown (null), not 0
    assert [m.value for m in a.mrr] == [None] * 9 + [100.0, 100.0, 150.0]
    assert a.customer and a.customer_since == "2026-01"
    march, feb, jan = a.health[-1], a.health[-2], a.health[-3]
    # March: usage 2 of 31 days; NPS 9 (S2) -> 100; T1 met, T2 missed -> 50; I1 on time, I2 late, I3 paid after
    # the end -> 1/3 on time
    assert (march.usage, march.feedback, march.support, march.payment) == pytest.approx(
        (100 * 2 / 31, 100.0, 50.0, 100 / 3))
    assert march.health == pytest.approx(0.4 * 100 * 2 / 31 + 30 + 10 + 10 / 3)  # 45.91: red
    assert march.band == "red"
    # February (28 days): one event 02-28 23:59:59; NPS 3 (2025-06) -> 0; no February ticket -> 100; I1 on time, I2
    # late -> 50
    assert feb.health == pytest.approx(0.4 * 100 / 28 + 0 + 20 + 5)  # 26.43
    # January: no events; NPS 3 -> 0; T7 still open at end(Jan) (resolved at 02-01 00:00, not before) and 22 days
    # old -> missed -> 0; I1 on time -> 100
    assert (jan.usage, jan.feedback, jan.support, jan.payment, jan.health) == pytest.approx((0, 0, 0, 100, 10))
    assert not a.health[-4].customer and a.health[-4].health is None  # December: before the data
    m = a.metrics
    assert m["tickets_created"] == 2  # T1, T2
    assert m["frt_median_hours"] == pytest.approx(4.0)  # (2 + 6) / 2
    assert m["resolution_median_hours"] == pytest.approx(48.0)  # (24 + 72) / 2
    assert m["sla_met_pct"] == pytest.approx(50.0)
    assert m["backlog_end"] == 0
    assert m["mau"] == 2 and m["dau_avg"] == pytest.approx(2 / 31)  # u1 on 03-01, u2 on 03-02
    assert m["stickiness_pct"] == pytest.approx(100 * (2 / 31) / 2)
    assert (m["nps"], m["nps_responses"], m["csat_pct"], m["csat_responses"]) == (100.0, 1, 100.0, 2)
    # sessions (gap 30 min): u1's 03-01 00:00:00 is 1 s after its 02-28 23:59:59, so it continues a session that
    # began in February (a session belongs to the month of its first instant); March has u1's 05:00 and u2's
    # 03-02 10:00, each a single instant: 2 sessions of 0 minutes, 2 users
    assert (m["sessions"], m["session_users"], m["sessions_per_user_avg"]) == (2, 2, 1.0)
    assert (m["session_minutes_median"], m["time_in_product_hours_per_user"]) == (0.0, 0.0)
    assert a.active_days == 2
    assert [(f.event, f.users) for f in a.top_features] == [("login", 2), ("search", 1)]
    # 12 months (2025-04-01 .. 2026-04-01): NPS 3 (S1) and 9 (S2) -> 50 % promoters, 50 % detractors -> 0
    assert a.survey_12m["nps"] == pytest.approx(0.0) and a.survey_12m["nps_responses"] == 2
    assert a.survey_12m["csat_pct"] == pytest.approx(100.0) and a.survey_12m["csat_responses"] == 2
    assert [(r.survey, r.score, r.responded_on) for r in a.responses] == [
        ("nps", 9, "2026-03-10"), ("csat", 4, "2026-03-04"), ("csat", 5, "2026-03-03"), ("nps", 3, "2025-06-01")]
    assert a.responses[0].text == "Great <script>alert(1)</script>"
    assert a.open_tickets == []
    # I3: due 03-15, paid 04-05 (after the end of March): overdue 17 days at the end of March
    assert [(i.invoice_id, i.amount, i.days_overdue) for i in a.overdue_invoices] == [("I3", 150.0, 17)]
    # what to discuss: usage is the weakest (6.5); payment fell from 100 in January (the first month of the
    # quarter before in which A was a customer) to 33.3: -66.7 points
    assert [(t.component, t.weakest, t.falling) for t in a.discuss] == [("usage", True, False),
                                                                        ("payment", False, True)]
    assert a.discuss[1].since == "2026-01" and a.discuss[1].change == pytest.approx(100 / 3 - 100)


def test_account_c_reactivated_with_an_open_ticket(accounts):
    c = accounts[1]["C"]
    assert [m.value for m in c.mrr[-3:]] == [50.0, 0.0, 70.0]  # no February row = MRR 0
    assert not c.health[-2].customer  # February: not a customer
    # March: no events -> 0; NPS 8 (S5, 03-01 00:00) -> 50; T4 open 22 days -> missed -> 0; no invoices -> 100
    assert c.now.health == pytest.approx(0 + 15 + 0 + 10)
    # January: no events -> 0, no NPS -> 50, no ticket -> 100, no invoice -> 100
    assert c.health[-3].health == pytest.approx(0 + 15 + 20 + 10)
    assert [(t.ticket_id, t.age_days) for t in c.open_tickets] == [("T4", pytest.approx(22.0))]
    assert c.metrics["backlog_end"] == 1 and c.metrics["sla_met_pct"] == 0.0
    assert c.metrics["frt_median_hours"] is None  # T4's first response came at the end instant: none in March
    # weakest: usage 0 and support 0 tie -> the heavier weight (usage 0.4); support fell 100 -> 0 since January
    assert [(t.component, t.weakest, t.falling, t.change) for t in c.discuss] == [
        ("usage", True, False, 0.0), ("support", False, True, -100.0)]


def test_accounts_without_data_in_the_period(accounts):
    e, g, o5 = accounts[1]["E"], accounts[1]["G"], accounts[1]["O5"]
    # E churned: 300 in February, 0 in March
    assert not e.customer and e.discuss == [] and e.now.health is None
    assert e.health[-2].health == pytest.approx(0 + 15 + 20 + 10)  # February: no events, no NPS, nothing due
    # G never paid: no MRR, but one user logged in on 03-15
    assert not g.customer and g.customer_since is None and g.account.name == G_NAME
    assert g.metrics["mau"] == 1 and g.active_days == 1
    # O5 has nothing at all
    assert not o5.customer and o5.active_days == 0 and o5.metrics["tickets_created"] == 0
    assert o5.responses == [] and o5.overdue_invoices == [] and o5.discuss == []


def test_account_without_an_events_table(tmp_path):
    data = load_dataset(write_company(tmp_path / "company", events=None), Config(), quiet=True)
    a = account_models(data, MARCH, Config()).build("A")
    # health without usage: the other weights rescaled (0.3, 0.2, 0.1 of 0.6); usage and sessions not available
    assert a.now.usage is None
    assert a.now.health == pytest.approx((0.3 * 100 + 0.2 * 50 + 0.1 * 100 / 3) / 0.6)
    assert a.metrics["mau"] is None and "not available" in a.notes["mau"]
    assert a.metrics["sessions"] is None and "not available" in a.notes["sessions"]
    assert a.active_days is None and a.top_features == [] and {m.value for m in a.active_users} == {None}


def test_discussion_rules():
    def month(m: str, **scores: float) -> MonthHealth:
        return MonthHealth(month=m, customer=True, health=50.0, band="amber", **scores)

    weights = {"usage": 0.4, "feedback": 0.3, "support": 0.2, "payment": 0.1}
    all_green = month("2026-03", usage=90, feedback=100, support=100, payment=100)
    before = month("2025-12", usage=95, feedback=100, support=100, payment=100)
    assert discussion([before, before, before, all_green], 75, weights) == []  # nothing weak, nothing fell 10
    fell = month("2026-03", usage=80, feedback=50, support=100, payment=100)
    topics = discussion([before, before, before, fell], 75, weights)
    # feedback 50 is the weakest and also fell 50 points; usage fell only 15 -> also listed (>= 10)
    assert [(t.component, t.weakest, t.falling) for t in topics] == [("feedback", True, True),
                                                                     ("usage", False, True)]


# --- books by hand ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def books(dataset):
    config = Config()
    builder = BookBuilder(dataset, MARCH, config, targets_for(config, None), ModelOptions())
    return builder, {name: builder.build("csm", name) for name in ("Kim Lee", "kim/lee", "../<b>Eve</b>", "..")}


def test_books_by_hand(books):
    builder, models = books
    kim = models["Kim Lee"].metrics
    # A 100 -> 150 (+50 expansion), B 200 -> 120 (80 contraction)
    assert (kim["customers_end"], kim["mrr_start"], kim["mrr_end"]) == (2, 300.0, 270.0)
    assert kim["nrr_pct"] == pytest.approx(100 * (300 + 50 - 80) / 300)  # 90.0
    assert kim["grr_pct"] == pytest.approx(100 * (300 - 80) / 300)  # 73.3
    # NPS in March: S2 9, S3 10, S4 6 -> 2 promoters, 1 detractor of 3
    assert kim["nps"] == pytest.approx(100 * (2 / 3 - 1 / 3))
    assert kim["csat_pct"] == pytest.approx(100 * 2 / 3)  # S8 5, S9 4, S10 3
    # health A 45.91, B: 1 day of usage, tied NPS 10/6 -> 6 -> 0, no counted ticket -> 100, I5 on time -> 100
    assert kim["health_avg"] == pytest.approx((0.4 * 200 / 31 + 30 + 10 + 10 / 3 + 0.4 * 100 / 31 + 20 + 10) / 2)
    kim_lee = models["kim/lee"].metrics
    # C reactivated with 70, D new with 40; nothing in February: no NRR (MRR at start is 0)
    assert (kim_lee["customers_end"], kim_lee["mrr_end"], kim_lee["nrr_pct"]) == (2, 110.0, None)
    eve = models["../<b>Eve</b>"].metrics
    # E (300) churned, F (10) flat: 1 of 2 customers lost
    assert (eve["customers_start"], eve["customers_end"], eve["logo_churn_rate_pct"]) == (2, 1, 50.0)
    assert eve["mau"] == 0  # neither E nor F has an event: the book sees its own events only
    empty = models[".."].metrics
    assert (empty["customers_end"], empty["mrr_end"], empty["mau"], empty["tickets_created"]) == (0, 0.0, 0, 0)
    assert empty["health_avg"] is None
    # the company beside every book: A B C D F active in March, MRR 150 + 120 + 70 + 40 + 10
    company = models["Kim Lee"].book.company
    assert (company.value("customers_end"), company.value("mrr_end")) == (5, 390.0)
    assert models["Kim Lee"].book.accounts == 2 and models["Kim Lee"].book.by == "csm"
    assert builder.data.events.passes == 1  # four books, one engine pass


def test_a_segment_book_holds_that_segment_of_the_company_report(books, march):
    """A segment's book equals the segment scope the company report computes its own way (split_segments)."""
    builder, _ = books
    book = builder.build("segment", "Enterprise")
    expected = march["segments"]["Enterprise"]["metrics"]
    assert book.book.accounts == 2  # E, F
    for key, value in expected.items():
        assert book.metrics[key] == (pytest.approx(value) if isinstance(value, float) else value), key


# --- the command, end to end (notebooks: slow) ----------------------------------------------------

def _batch(source: Path, out: Path, *args: str) -> tuple[int, str, str]:
    return run_cli("batch", "--data", source, "--period", "2026-03", "--out", out, "--workers", "2", "--quiet", *args)


@pytest.fixture(scope="module")
def account_batch(books_company, tmp_path_factory):
    out = tmp_path_factory.mktemp("account-batch")
    code, _, err = _batch(books_company, out, "--by", "account", "--only", "A,C,E,G,O5")
    assert code == 0, err
    return out / "2026-03" / "account"


@pytest.mark.slow
def test_batch_by_account(account_batch):
    batch = json.loads((account_batch / "batch.json").read_text())
    groups = {g["key"]: g for g in batch["groups"]}
    assert set(groups) == {"A", "C", "E", "G", "O5"} and all(g["status"] == "ok" for g in groups.values())
    assert batch["engine_passes"] == 1  # one aggregation of the events for every account
    for group in groups.values():
        folder = account_batch / group["folder"]
        assert SAFE.match(group["folder"]) and folder.parent == account_batch
        names = {p.name for p in folder.iterdir()}
        assert {group["files"][f] for f in ("html", "pdf", "notebook", "model")} == names
        assert (folder / group["files"]["pdf"]).read_bytes().startswith(b"%PDF")
    a = groups["A"]
    model = json.loads((account_batch / a["folder"] / "account.json").read_text())
    assert model["health"][-1]["health"] == pytest.approx(0.4 * 200 / 31 + 30 + 10 + 10 / 3)
    html = (account_batch / a["folder"] / a["files"]["html"]).read_text()
    # the executed notebook shows what the model holds: escaped names and comments, the hand-worked figures
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html and "<b>Corp</b>" not in html
    assert "Great &lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "Usage 6/100 (weakest component)" in html and "active on 2 of 31 days in Mar 2026" in html
    assert "Payment 33/100 (down 67 points since Jan 2026)" in html and "1 invoice overdue ($150)" in html
    g = groups["G"]
    g_html = (account_batch / g["folder"] / g["files"]["html"]).read_text()
    assert "../../etc &lt;i&gt;passwd&lt;/i&gt;" in g_html and "<i>passwd</i>" not in g_html
    assert g["folder"].startswith("g-etc-i-passwd")
    # no data at all: a short, honest report
    o5 = groups["O5"]
    o5_html = (account_batch / o5["folder"] / o5["files"]["html"]).read_text()
    assert "is not a customer in March 2026 (no MRR); it had no MRR in the 12 months shown." in o5_html
    assert "No usage, tickets or survey answers in March 2026." in o5_html
    assert "No invoice overdue at the end of March 2026." in o5_html
    # the index links every report with its headline numbers; names escaped
    index = (account_batch / "index.html").read_text()
    for group in groups.values():
        assert f'href="{group["folder"]}/{group["files"]["pdf"]}"' in index
    assert "../../etc &lt;i&gt;passwd&lt;/i&gt;" in index
    headline = {f["label"]: f["text"] for f in a["headline"]}
    assert headline["MRR"] == "$150" and headline["Health"] == "46" and headline["Overdue"] == "$150"


@pytest.fixture(scope="module")
def csm_batch(books_company, tmp_path_factory):
    out = tmp_path_factory.mktemp("csm-batch")
    code, _, err = _batch(books_company, out, "--by", "csm")
    assert code == 0, err
    return out / "2026-03" / "csm"


@pytest.mark.slow
def test_batch_by_csm(csm_batch):
    batch = json.loads((csm_batch / "batch.json").read_text())
    groups = {g["key"]: g for g in batch["groups"]}
    assert set(groups) == {"Kim Lee", "kim/lee", "../<b>Eve</b>", ".."} and batch["engine_passes"] == 1
    assert batch["without_group"] == ["G", "O1", "O2", "O3", "O4", "O6"]
    folders = [g["folder"] for g in groups.values()]
    assert len(set(folders)) == 4 and all(SAFE.match(f) for f in folders)
    assert sorted(p.name for p in csm_batch.iterdir() if p.is_dir()) == sorted(folders)
    kim = groups["Kim Lee"]
    metrics = json.loads((csm_batch / kim["folder"] / "metrics.json").read_text())
    assert metrics["metrics"]["nrr_pct"] == pytest.approx(90.0) and metrics["metrics"]["customers_end"] == 2
    assert metrics["book"]["company"]["metrics"]["customers_end"] == 5
    html = (csm_batch / kim["folder"] / kim["files"]["html"]).read_text()
    assert "CSM Kim Lee: 2 accounts, beside the whole company" in html
    assert "Customer Success Report: CSM Kim Lee" in html  # the header says whose book it is
    eve = groups["../<b>Eve</b>"]
    eve_html = (csm_batch / eve["folder"] / eve["files"]["html"]).read_text()
    assert "../&lt;b&gt;Eve&lt;/b&gt;" in eve_html and "<b>Eve</b>" not in eve_html
    empty = groups[".."]
    assert empty["folder"] == "group"
    empty_html = (csm_batch / empty["folder"] / empty["files"]["html"]).read_text()
    assert "CSM ..: 1 account, beside the whole company" in empty_html
    index = (csm_batch / "index.html").read_text()
    assert "6 accounts have no csm and are in no book: G, O1, O2, O3, O4, O6." in index
    assert "../&lt;b&gt;Eve&lt;/b&gt;" in index


FAILING_METRIC = '''
import csreport


@csreport.metric(key="refunds", label="Refunds", unit="count", direction="lower", formula="fails for E's book")
def refunds(tables, period):
    accounts = set(tables["accounts"]["account_id"])
    if "E" in accounts and "A" not in accounts:  # E's book (and its segment), not the whole company
        raise RuntimeError("refund feed unavailable")
    return 0
'''


@pytest.mark.slow
def test_a_failing_group_leaves_the_others_published(books_company, tmp_path):
    out = tmp_path / "reports"
    code, _, err = _batch(books_company, out, "--by", "csm", "--only", "Kim Lee,../<b>Eve</b>", "--format", "html")
    assert code == 0, err
    folder = out / "2026-03" / "csm"
    earlier = json.loads((folder / "batch.json").read_text())["groups"]
    eve_folder = next(g["folder"] for g in earlier if g["key"] == "../<b>Eve</b>")
    eve_html = (folder / eve_folder / next(g["files"]["html"] for g in earlier if g["key"] == "../<b>Eve</b>"))
    first_bytes = eve_html.read_bytes()

    (tmp_path / "metrics.py").write_text(FAILING_METRIC)
    (tmp_path / "cs.yaml").write_text("metrics_module: metrics.py\n")
    code, _, err = _batch(books_company, out, "--by", "csm", "--config", tmp_path / "cs.yaml", "--format", "html")
    assert code == 9, err  # partial failure
    assert "1 of 4 csm reports failed" in err
    batch = json.loads((folder / "batch.json").read_text())
    groups = {g["key"]: g for g in batch["groups"]}
    assert groups["../<b>Eve</b>"]["status"] == "failed" and groups["../<b>Eve</b>"]["exit_code"] == 8
    assert "refund feed unavailable" in groups["../<b>Eve</b>"]["error"]
    assert [k for k, g in groups.items() if g["status"] == "ok"] == ["..", "Kim Lee", "kim/lee"]
    for key in ("..", "Kim Lee", "kim/lee"):
        assert (folder / groups[key]["folder"] / groups[key]["files"]["html"]).exists()
    # the failed book's earlier report is kept, unchanged, and the index says so next to the error
    assert eve_html.read_bytes() == first_bytes and groups["../<b>Eve</b>"]["earlier"]
    # ... with its figures: Eve's book is E (MRR 300 in February, 0 in March: churned) and F (10, flat), so
    # 2 accounts, 1 customer at the end, MRR $10, logo churn 1 of 2 = 50 %
    eve_before = next(g for g in earlier if g["key"] == "../<b>Eve</b>")
    assert groups["../<b>Eve</b>"]["headline"] == eve_before["headline"]
    shown = {f["label"]: f["text"] for f in eve_before["headline"]}
    assert (shown["Accounts"], shown["Customers"], shown["MRR"], shown["Logo churn"]) == ("2", "1", "$10", "50.0%")
    index = (folder / "index.html").read_text()
    assert "1 of 4 failed" in index and "refund feed unavailable" in index
    assert "the report and figures shown are from an earlier batch" in index
    eve_row = index[index.index("refund feed unavailable"):].split("</tr>")[0]
    assert '<td class="num" data-label="MRR">$10</td>' in eve_row
    assert not list(out.glob(".*staging*"))  # nothing half-written left behind

    # a later batch of another book leaves the failed book as it was: its earlier report still published
    code, _, err = _batch(books_company, out, "--by", "csm", "--only", "Kim Lee", "--format", "html")
    assert code == 0, err
    later = {g["key"]: g for g in json.loads((folder / "batch.json").read_text())["groups"]}
    assert later["../<b>Eve</b>"] == groups["../<b>Eve</b>"]
    assert eve_html.read_bytes() == first_bytes


@pytest.mark.slow
def test_company_run_keeps_the_batch_folders(csm_batch, books_company):
    out = csm_batch.parent.parent
    code, _, err = run_cli("run", "--data", books_company, "--period", "2026-03", "--out", out, "--quiet",
                           "--format", "html")
    assert code == 0, err
    assert (out / "2026-03" / "customer-success-report-2026-03.html").exists()
    assert (out / "2026-03" / "csm" / "index.html").exists()


@pytest.mark.slow
def test_warm_kernel_starts_each_notebook_clean(tmp_path):
    import nbformat

    from csreport.errors import NotebookError
    from csreport.report.warm import WarmKernel, execute_warm

    def notebook(name: str, *sources: str) -> Path:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 0", metadata={"tags": ["parameters"]})]
                                      + [nbformat.v4.new_code_cell(s) for s in sources])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = tmp_path / name
        nbformat.write(nb, path)
        return path

    kernel = WarmKernel()
    try:
        first = notebook("first.ipynb", "leftover = x * 2\nimport os\nprint(os.getcwd())")
        (tmp_path / "one").mkdir()
        execute_warm(first, tmp_path / "one" / "out.ipynb", {"x": 21}, kernel)
        out = nbformat.read(tmp_path / "one" / "out.ipynb", as_version=4)
        assert out.cells[-1].outputs[0]["text"].strip() == str(tmp_path / "one")  # cwd: the report's folder
        second = notebook("second.ipynb", "print('leftover' in dir())")
        (tmp_path / "two").mkdir()
        execute_warm(second, tmp_path / "two" / "out.ipynb", {"x": 1}, kernel)
        out = nbformat.read(tmp_path / "two" / "out.ipynb", as_version=4)
        assert out.cells[-1].outputs[0]["text"].strip() == "False"  # nothing of the first notebook survives
        assert out.cells[0].execution_count == 1  # a fresh cell count
        broken = notebook("broken.ipynb", "1 / 0")
        with pytest.raises(NotebookError, match="ZeroDivisionError"):
            execute_warm(broken, tmp_path / "two" / "broken.ipynb", {"x": 1}, kernel)
        pid = kernel.km.provisioner.pid
        execute_warm(second, tmp_path / "two" / "again.ipynb", {"x": 1}, kernel)  # the same kernel goes on
        assert kernel.km.provisioner.pid == pid and kernel.executions == 4
    finally:
        kernel.close()


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content,
                                                                                policy=email.policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp(monkeypatch):
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in {"CSREPORT_SMTP_HOST": "127.0.0.1", "CSREPORT_SMTP_PORT": str(port),
                        "CSREPORT_SMTP_TLS": "none", "CSREPORT_SMTP_FROM": "reports@example.com"}.items():
        monkeypatch.setenv(name, value)
    yield inbox
    controller.stop()


@pytest.mark.slow
def test_email_each_csm_their_book(csm_batch, smtp, tmp_path):
    out = csm_batch.parent.parent
    config = tmp_path / "cs.yaml"
    config.write_text('email: {csm_addresses: {"Kim Lee": kim@example.com, "kim/lee": [k.lee@example.com]}}\n')
    code, _, err = run_cli("email", "--batch", "--by", "csm", "--period", "2026-03", "--out", out, "--config", config)
    # ".." has no address: reported (exit 6) after the three others were served
    assert code == 6, err
    problems = err.split("csreport: error:")[1]
    assert "'..' has no address" in problems and "Kim Lee" not in problems
    sent = {tuple(to): message for to, message in smtp.messages}
    assert set(sent) == {("kim@example.com",), ("k.lee@example.com",), ("eve@example.com",)}
    kim = sent[("kim@example.com",)]
    assert kim["Subject"] == "Customer Success Report — March 2026 — Kim Lee"
    batch = {g["key"]: g for g in json.loads((csm_batch / "batch.json").read_text())["groups"]}
    attachment = next(kim.iter_attachments())
    assert attachment.get_filename() == batch["Kim Lee"]["files"]["pdf"]
    assert attachment.get_content() == (csm_batch / batch["Kim Lee"]["folder"] / batch["Kim Lee"]["files"]["pdf"]
                                        ).read_bytes()
    assert "CSM Kim Lee" in kim.get_body(("plain",)).get_content()
    assert batch["../<b>Eve</b>"]["recipients"] == ["eve@example.com"]  # from the accounts' csm_email column
    # a rerun sends nothing twice (send log per recipient and book), and still names the book without an address
    code, _, err = run_cli("email", "--batch", "--period", "2026-03", "--out", out, "--config", config)
    assert code == 6 and len(smtp.messages) == 3
    log = [json.loads(line) for line in (out / "email-log.jsonl").read_text().splitlines()]
    assert sorted((e["group"], e["recipient"]) for e in log) == [
        ("csm/../<b>Eve</b>", "eve@example.com"), ("csm/Kim Lee", "kim@example.com"),
        ("csm/kim/lee", "k.lee@example.com")]
    # a book whose only address is malformed was never sent: reported as such, never as "already sent"
    config.write_text('email: {csm_addresses: {"..": not-an-address}}\n')
    code, _, err = run_cli("email", "--batch", "--period", "2026-03", "--out", out, "--config", config,
                           "--only", "..")
    assert code == 6 and len(smtp.messages) == 3
    assert "'not-an-address' (..) is not a valid email address" in err and "already sent" not in err, err
