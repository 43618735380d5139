"""Analysts at home in Jupyter: company metrics, the notebook as Jupyter shows it, their own charts and tables.

Company metric under test (the README's "Analyst guide" example), on the hand-computed company
of conftest (period 2026-03, previous 2026-02):

  tickets_per_customer = tickets created in the month / customers (MRR > 0) in the month
  2026-03, all: tickets T1, T2, T3, T4, T6 = 5 (T5, T7, T8 were created before March);
                customers A 150, B 120, C 70, D 40, F 10 = 5 (E is at 0)            -> 5 / 5 = 1.00
  2026-02, all: tickets T5 (02-25), T8 (02-20) = 2; customers A, B, E, F = 4        -> 2 / 4 = 0.50
  2026-03 SMB (A, B, G, O1-O6): T1, T2, T3 = 3; customers A, B = 2                   -> 1.50
  2026-03 Mid-Market (C, D): T4 = 1; customers C, D = 2                              -> 0.50
  2026-03 Enterprise (E, F): T6 = 1; customers F = 1                                 -> 1.00
  targets: 1.2 (amber 0.3), lower is better: 1.00 <= 1.2 -> green;
           SMB 1.2 (amber 0.2): 1.50 misses by 0.30 > 0.20 -> red
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import run_cli, write_company
from pypdf import PdfReader

from csreport.benchmark.history import History
from csreport.config import load_config
from csreport.metrics import catalog

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "csreport" / "notebooks" / "executive_summary.ipynb"

TICKETS_PER_CUSTOMER = '''
import csreport


@csreport.metric(key="tickets_per_customer", label="Support tickets per customer", unit="ratio",
                 direction="lower", formula="tickets created in the month / customers with MRR > 0 in the month")
def tickets_per_customer(tables, period):
    tickets = tables["tickets"]
    created = tickets[(tickets["created_at"] >= period.start) & (tickets["created_at"] < period.end)]
    revenue = tables["revenue"]
    customers = revenue[(revenue["month"] == period.month) & (revenue["mrr"] > 0)]["account_id"].nunique()
    return len(created) / customers if customers else None
'''

# invoices due in the month (a date column: the naive bounds) paid on or before their due date
ON_TIME = '''

@csreport.metric(key="invoices_on_time_pct", label="Invoices paid on time", unit="pct", direction="higher",
                 formula="100 * invoices due in the month and paid by their due date / invoices due in the month")
def invoices_on_time(tables, period):
    invoices = tables["invoices"]
    due = invoices[(invoices["due_date"] >= period.start_date) & (invoices["due_date"] < period.end_date)]
    if due.empty:
        return None
    return 100 * (due["paid_date"] <= due["due_date"]).sum() / len(due)
'''

TARGETS = """metrics:
  tickets_per_customer: {target: 1.2, amber: 0.3}
segments:
  SMB:
    tickets_per_customer: {target: 1.2, amber: 0.2}
"""


def company_setup(folder: Path, module: str = TICKETS_PER_CUSTOMER) -> tuple[Path, Path]:
    """A config naming my_metrics.py (relative to it) and a targets file for the company metric."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "my_metrics.py").write_text(module, encoding="utf-8")
    config = folder / "cs.yaml"
    config.write_text("metrics_module: my_metrics.py\n", encoding="utf-8")
    targets = folder / "targets.yaml"
    targets.write_text(TARGETS, encoding="utf-8")
    return config, targets


@pytest.fixture(autouse=True)
def _no_company_metrics_afterwards():
    """Loading a config registers its metrics in the catalog; leave it as the other tests expect it."""
    yield
    load_config(None)


def test_company_metric_is_computed_judged_and_compared_like_a_built_in(company, tmp_path):
    config, targets = company_setup(tmp_path / "cfg", TICKETS_PER_CUSTOMER + ON_TIME)
    code, out, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--config", config,
                             "--targets", targets, "--history", tmp_path / "none.sqlite", "--quiet")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["metrics"]["tickets_per_customer"] == pytest.approx(1.0)  # 5 tickets / 5 customers
    assert doc["status"]["tickets_per_customer"] == "green"  # 1.00 <= 1.2
    assert doc["targets"]["tickets_per_customer"] == {"target": 1.2, "amber": 0.3, "direction": "lower",
                                                      "source": None}
    change = doc["comparison"]["tickets_per_customer"]
    # February from the data (no history): 2 tickets / 4 customers = 0.5; a year earlier there is no revenue data
    assert (change["previous"], change["previous_from"], change["mom_delta"]) == (0.5, "data", 0.5)
    assert change["year_ago"] is None
    segments = {name: (scope["metrics"]["tickets_per_customer"], scope["status"]["tickets_per_customer"])
                for name, scope in doc["segments"].items()}
    assert segments == {"SMB": (1.5, "red"), "Mid-Market": (0.5, "green"), "Enterprise": (1.0, "green")}
    # invoices due in March: I3 (A, due 03-15, paid 04-05: late) and I5 (B, due 03-31, paid that day) -> 1/2
    assert doc["metrics"]["invoices_on_time_pct"] == pytest.approx(50.0)
    assert doc["status"]["invoices_on_time_pct"] is None  # no target
    # Mid-Market (C, D) has no invoices: null, with the reason
    mid = doc["segments"]["Mid-Market"]
    assert mid["metrics"]["invoices_on_time_pct"] is None
    assert mid["notes"]["invoices_on_time_pct"] == "not computable: invoices_on_time() returned None for this period"
    # after the built-ins, in the order the file declares them
    assert list(doc["metrics"])[-2:] == ["tickets_per_customer", "invoices_on_time_pct"]


def test_company_metric_is_in_the_catalog_only_while_its_config_is_loaded(tmp_path):
    config, _ = company_setup(tmp_path / "cfg")
    load_config(config)
    info = catalog.BY_KEY["tickets_per_customer"]
    assert (info.label, info.unit, info.higher_is_better, info.formula) == (
        "Support tickets per customer", "ratio", False,
        "tickets created in the month / customers with MRR > 0 in the month")
    assert catalog.custom_keys() == ["tickets_per_customer"]
    load_config(None)
    assert "tickets_per_customer" not in catalog.BY_KEY and catalog.custom_keys() == []


def test_targets_for_a_company_metric_need_its_module(company, tmp_path):
    _, targets = company_setup(tmp_path / "cfg")
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--targets", targets, "--quiet")
    assert code == 2
    assert "tickets_per_customer: unknown metric" in err


DECORATOR = '''import csreport

@csreport.metric(key={key!r}, label={label!r}, unit={unit!r}, direction={direction!r}, formula={formula!r})
def {name}({parameters}):
    return 1.0
'''


def _declaration(key="churn_calls", label="Churn calls", unit="count", direction="lower", formula="calls",
                 name="churn_calls", parameters="tables, period") -> str:
    return DECORATOR.format(key=key, label=label, unit=unit, direction=direction, formula=formula, name=name,
                            parameters=parameters)


@pytest.mark.parametrize(("module", "message"), [
    (None, "metrics_module {folder}/my_metrics.py does not exist (a relative path is read from the config"),
    ("import csreport\ndef broken(:\n", "could not be imported: SyntaxError: invalid syntax (line 2)"),
    ("import csreport\nimport no_such_package_xyz\n",
     "could not be imported: ModuleNotFoundError: No module named 'no_such_package_xyz' (my_metrics.py, line 2)"),
    ("import csreport\n\nx = 1 / 0\n",
     "could not be imported: ZeroDivisionError: division by zero (my_metrics.py, line 3)"),
    ("import csreport\n", "declares no metric; decorate each function with @csreport.metric("),
    (_declaration(unit="percent"), "@csreport.metric on churn_calls(): unit='percent' must be one of pct, count,"),
    (_declaration(direction="up"), "direction='up' must be 'higher' or 'lower'"),
    (_declaration(key="Churn Calls"), "key='Churn Calls' must be lower-case letters, digits and underscores"),
    (_declaration(label=""), "label='' must be a non-empty text"),
    (_declaration(formula=" "), "formula= must say in words how the metric is computed"),
    (_declaration(parameters="tables"), "the function must take two arguments, (tables, period)"),
    (_declaration() + _declaration(name="again"),
     "key 'churn_calls' is declared twice, by churn_calls() in my_metrics.py, line 3 and again() in my_metrics.py, "
     "line 8"),
    (_declaration(key="nps"), "key 'nps' of churn_calls() in my_metrics.py, line 3 is a built-in metric (SPEC §3)"),
])
def test_metrics_module_is_validated_with_clear_config_errors(company, tmp_path, module, message):
    folder = tmp_path / "cfg"
    config, _ = company_setup(folder, module or "")
    if module is None:
        (folder / "my_metrics.py").unlink()
    code, out, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--config", config, "--quiet")
    assert (code, out) == (2, "")
    assert message.format(folder=folder) in err


@pytest.mark.parametrize(("body", "detail"), [
    ("    return 1 / 0", "ZeroDivisionError: division by zero (my_metrics.py, line 5)"),
    ("    return 'high'", "returned str 'high' for 2026-03, all customers; return a number, or None"),
    ("    return float('inf')", "returned inf for 2026-03, all customers; a value that cannot be computed"),
    ("    return 10 ** 400", "returned an integer of 401 digits for 2026-03, all customers, beyond any number"),
])
def test_an_error_inside_a_company_metric_names_it_and_exits_8(company, tmp_path, body, detail):
    module = ('import csreport\n\n@csreport.metric(key="calls", label="Calls", unit="count", direction="lower", '
              f'formula="calls")\ndef count_calls(tables, period):\n{body}\n')
    config, _ = company_setup(tmp_path / "cfg", module)
    code, _, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--config", config, "--quiet")
    assert code == 8
    # the function is named by its declaration: the @csreport.metric line
    assert "company metric 'calls'" in err and "count_calls() in my_metrics.py, line 3" in err
    assert detail in err


@pytest.mark.parametrize(("failing_for", "scope"), [
    ({"A", "E"}, "for 2026-03, the book of csm 'Mixed': ZeroDivisionError"),  # the book's own accounts
    ({"E"}, "for 2026-03, segment 'Enterprise' of the book of csm 'Mixed': ZeroDivisionError"),  # its segment
])
def test_a_company_metric_failing_inside_a_book_names_the_book(company, tmp_path, failing_for, scope):
    """A book of accounts A (SMB) and E (Enterprise): the metric fails only for the accounts ``failing_for``, so
    the company's own run succeeds first, and the message names the book (or the book's segment) it failed in."""
    from csreport.benchmark.targets import targets_for
    from csreport.data import load_dataset
    from csreport.errors import MetricError
    from csreport.model import ModelOptions
    from csreport.model.books import BookBuilder
    from csreport.periods import Period

    module = ('import csreport\n\n@csreport.metric(key="calls", label="Calls", unit="count", direction="lower", '
              'formula="calls")\ndef count_calls(tables, period):\n'
              f'    return 1 / 0 if set(tables["accounts"]["account_id"]) == {failing_for!r} else 1\n')
    config_path, _ = company_setup(tmp_path / "cfg", module)
    config = load_config(config_path)
    dataset = load_dataset(company, config, quiet=True)
    books = BookBuilder(dataset, Period.parse("2026-03"), config, targets_for(config, None), ModelOptions())
    assert books.company_scope().value("calls") == 1  # all customers: no failure
    with pytest.raises(MetricError) as failure:
        books.build("csm", "Mixed", {"A", "E"})
    assert scope in str(failure.value), str(failure.value)


def test_a_company_metric_gets_its_own_copy_of_the_tables(company, tmp_path):
    # the first metric moves every ticket it was given out of March; the second still sees all 5 March tickets
    module = TICKETS_PER_CUSTOMER.replace('key="tickets_per_customer"', 'key="first"').replace(
        "def tickets_per_customer(tables, period):\n", "def first(tables, period):\n"
        "    tables['tickets']['created_at'] = period.start - pd.Timedelta(days=1)\n") + TICKETS_PER_CUSTOMER
    config, _ = company_setup(tmp_path / "cfg", "import pandas as pd\n" + module)
    code, out, err = run_cli("metrics", "--data", company, "--period", "2026-03", "--config", config, "--quiet",
                             "--history", tmp_path / "none.sqlite")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    assert (metrics["first"], metrics["tickets_per_customer"]) == (0.0, 1.0)  # 0 / 5 customers; 5 / 5


def test_components_display_with_the_scoped_report_stylesheet(march):
    from csreport.model import ReportModel
    from csreport.report import components
    from csreport.report.html import jupyter_style, without_jupyter_style

    model = ReportModel.from_document(march)
    shown = components.kpi_tiles(model)._repr_html_()
    assert shown.startswith('<div class="csreport csreport-display"><style data-csreport-style>')
    assert shown.count("<style") == 1 and ".csreport .kpi-grid { display: grid;" in shown
    assert "--green: #1e8e5a;" in shown  # the palette, as the report page has it
    # every rule is scoped: nothing in it can restyle JupyterLab
    css = re.sub(r"/\*.*?\*/", "", jupyter_style().removeprefix("<style data-csreport-style>").removesuffix("</style>"),
                 flags=re.DOTALL)
    selectors = [s.strip() for rule in re.findall(r"([^{}]+)\{[^{}]*\}", css) for s in rule.split(",")]
    assert len(selectors) > 50
    assert [s for s in selectors if not s.startswith(".csreport")] == []
    # the report page has the stylesheet once: its copy is taken out
    bare = components.kpi_tiles(model).html
    assert without_jupyter_style(shown) == f'<div class="csreport csreport-display">{bare}</div>'
    assert components.company_metrics(model)._repr_html_() == ""  # no metrics_module: nothing to show


def test_table_helper_formats_and_escapes_any_dataframe():
    import pandas as pd

    from csreport.report import components

    frame = pd.DataFrame({
        "segment": ["SMB", "<b>Mid</b>", "Enterprise"],
        "accounts": [1234567, 2, 3],  # whole numbers: thousands separators
        "mrr_end": [270.0, 110.0, 1500000.0],  # a metric's name: its format (money) and its label
        "share": [12.345, 50.0, None],  # numbers of 10 and more: one decimal; missing: '–'
        "ratio": [0.5, 1.25, 2.0],  # every value below 10: two decimals
        "churned": [True, False, True],
        "since": pd.to_datetime(["2026-03-01", "2026-03-15", None]),
    }).set_index("segment")
    html = components.table(frame, title="By <i>segment</i>", units={"share": "pct"}).html
    assert "<caption>By &lt;i&gt;segment&lt;/i&gt;</caption>" in html
    assert "<th>segment</th>" in html and '<th class="num">MRR</th>' in html  # mrr_end reads 'MRR'
    assert "<td>&lt;b&gt;Mid&lt;/b&gt;</td>" in html  # the index became the first column, escaped
    rows = re.findall(r"<tr>(.*?)</tr>", html)[1:]  # after the header row
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in rows]
    assert cells[0] == ["SMB", "1,234,567", "$270", "12.3%", "0.50", "yes", "2026-03-01"]
    assert cells[2] == ["Enterprise", "3", "$1.5M", "–", "2.00", "yes", "–"]
    assert '<td class="num">1,234,567</td>' in html and "<td>yes</td>" in html  # numbers right, text left
    long = components.table(pd.DataFrame({"n": range(45)}), max_rows=30).html
    assert long.count("<tr>") == 31 and "… and 15 more rows not shown." in long  # 45 − 30 = 15
    with pytest.raises(ValueError, match="unknown unit"):
        components.table(frame, units={"share": "percent"})


def test_company_metric_label_and_formula_are_escaped(march, tmp_path):
    from csreport.model import ReportModel
    from csreport.report import components

    module = ('import csreport\n\n@csreport.metric(key="calls", label="Calls <script>x</script>", unit="count", '
              'direction="lower", formula="calls & <b>escalations</b>")\ndef calls(tables, period):\n    return 3\n')
    config, _ = company_setup(tmp_path / "cfg", module)
    load_config(config)
    document = json.loads(json.dumps(march))
    document["metrics"]["calls"] = 3.0
    html = components.company_metrics(ReportModel.from_document(document)).html
    assert "Calls &lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    assert "calls &amp; &lt;b&gt;escalations&lt;/b&gt; (lower is better)" in html
    assert '<h3 class="component-title">Company metrics</h3>' in html


def _copy_notebook(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    return folder / NOTEBOOK.name


def _outputs(notebook: nbformat.NotebookNode, marker: str) -> list:
    """The outputs of the code cell whose source contains ``marker``."""
    return next(cell.outputs for cell in notebook.cells if cell.cell_type == "code" and marker in cell.source)


def _images(obj, seen=None) -> int:
    """Raster images drawn on a PDF page (or in a form it draws), counted through nested forms."""
    seen = set() if seen is None else seen
    resources = obj.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    count = 0
    for ref in (xobjects or {}).values():
        if id(ref) in seen:
            continue
        seen.add(id(ref))
        item = ref.get_object()
        count += 1 if item.get("/Subtype") == "/Image" else _images(item, seen)
    return count


@pytest.mark.slow
def test_analyst_guide_steps(tmp_path):
    """README "Analyst guide": open the notebook (a copy), add a section, a chart, a table and a company
    metric, re-run with `csreport run --notebook`; each shows in the HTML, the PDF, metrics.json and history."""
    company = write_company(tmp_path / "company")
    config, targets = company_setup(tmp_path / "cfg")
    out = tmp_path / "reports"
    notebook = _copy_notebook(tmp_path)
    nb = nbformat.read(notebook, as_version=4)
    at = next(i for i, cell in enumerate(nb.cells) if "components.company_metrics" in cell.source) + 1
    nb.cells[at:at] = [
        nbformat.v4.new_markdown_cell("## Support load\n\nTickets per customer, by our own definition.",
                                      metadata={"tags": ["report-page-break"]}),
        nbformat.v4.new_code_cell(
            "import matplotlib.pyplot as plt\n\n"
            "names = list(report.segments)\n"
            "load = [report.segments[name].value('tickets_per_customer') for name in names]\n"
            "fig, ax = plt.subplots()\n"
            "ax.bar(names, load)\n"
            "ax.set_title('Tickets per customer by segment')\n"
            "plt.show()"),
        nbformat.v4.new_code_cell(
            "import pandas as pd\n\n"
            "frame = pd.DataFrame({'segment': names, 'tickets_per_customer': load,\n"
            "                      'mrr_end': [report.segments[name].value('mrr_end') for name in names]})\n"
            "components.table(frame.set_index('segment'), title='Support load and MRR by segment')"),
        nbformat.v4.new_code_cell("frame"),  # a plain DataFrame, too
        nbformat.v4.new_code_cell("frame.describe()", metadata={"tags": ["report-exclude"]}),  # scratch work
        nbformat.v4.new_markdown_cell("### Analyst notes\n\nSupport load is counted per paying customer.",
                                      metadata={"tags": ["report-appendix"]}),
    ]
    nbformat.write(nb, notebook)
    # February first, so that March's month-over-month change comes from history
    code, _, err = run_cli("backfill", "--data", company, "--from", "2026-02", "--to", "2026-02", "--config", config,
                           "--targets", targets, "--history", out / "history.sqlite", "--quiet")
    assert code == 0, err
    code, _, err = run_cli("run", "--data", company, "--period", "2026-03", "--config", config, "--targets", targets,
                           "--out", out, "--notebook", notebook, "--quiet")
    assert code == 0, err
    folder = out / "2026-03"

    # the chart: shown once, as SVG only (vector), plt.show() included
    outputs = _outputs(nbformat.read(folder / notebook.name, as_version=4), "plt.show()")
    assert [sorted(o.data) for o in outputs] == [["image/svg+xml", "text/plain"]]

    html = (folder / "customer-success-report-2026-03.html").read_text()
    heading = '<section class="cell markdown report-page-break"><h2 id="Support-load">Support load'
    section = html[html.index(heading):]  # the new section, with its tag
    chart = section[section.index("<svg"):section.index("</svg>")]
    assert ">Tickets per customer by segment</text>" in chart  # real text in the vector chart
    assert "Enterprise</text>" in chart and 'fill="#2f6fde"' in chart.replace("fill: #2f6fde", 'fill="#2f6fde"')
    # the table: the catalog's labels as headers; SMB MRR A 150 + B 120 = $270, Mid-Market C 70 + D 40 = $110
    assert "<caption>Support load and MRR by segment</caption>" in section
    assert '<th class="num">Support tickets per customer</th><th class="num">MRR</th>' in section
    for segment, load, mrr in (("SMB", "1.50", "$270"), ("Mid-Market", "0.50", "$110"), ("Enterprise", "1.00", "$10")):
        assert f'<td>{segment}</td><td class="num">{load}</td><td class="num">{mrr}</td>' in section
    # the company metric, in the company-metrics table: 1.00, up 0.50 from February's 0.50, target ≤ 1.20, green
    row = re.search(r'<tr data-key="tickets_per_customer">(.*?)</tr>', html, re.DOTALL).group(1)
    assert "Support tickets per customer" in row and '<td class="num strong">1.00</td>' in row
    assert "▲ +0.50" in row and "≤ 1.20" in row and "rag-green" in row
    assert "data-csreport-style" not in html  # Jupyter's stylesheet copies are not in the report
    # the plain DataFrame is in the report, styled as a table of the page (.csreport table.dataframe)
    assert '<main class="csreport">' in html and '<table border="1" class="dataframe">' in section
    assert ">std</th>" not in html  # the report-exclude cell (describe()) stays out
    body, appendix = html.split('<section class="appendix">')
    assert '<h3 id="Analyst-notes">Analyst notes' in appendix and "Analyst notes" not in body  # report-appendix

    pages = [page for page in PdfReader(folder / "customer-success-report-2026-03.pdf").pages]
    texts = [page.extract_text() for page in pages]
    new = next(i for i, text in enumerate(texts) if "Support load" in text and "Tickets per customer by" in text)
    assert texts[new].startswith("Support load\n")  # the new section starts its page (the running header comes last)
    assert "Tickets per customer by segment" in texts[new]  # chart text extractable: vector, not a picture
    assert _images(pages[new]) == 0
    assert "Support load and MRR by segment" in texts[new] and re.search(r"SMB\s*1\.50\s*\$270", texts[new])
    assert re.search(r"Support tickets per customer\s*1\.00", "".join(texts))

    doc = json.loads((folder / "metrics.json").read_text())
    assert doc["metrics"]["tickets_per_customer"] == 1.0 and doc["status"]["tickets_per_customer"] == "green"
    change = doc["comparison"]["tickets_per_customer"]
    assert (change["previous"], change["previous_from"]) == (0.5, "history")
    assert doc["segments"]["SMB"]["status"]["tickets_per_customer"] == "red"
    recorded = History(out / "history.sqlite").read_scopes(["2026-02", "2026-03"])
    assert recorded[""]["2026-02"]["tickets_per_customer"][0] == 0.5
    assert recorded[""]["2026-03"]["tickets_per_customer"][0] == 1.0
    assert recorded["SMB"]["2026-03"]["tickets_per_customer"][0] == 1.5


def _tree(folder: Path) -> dict[str, tuple[int, bytes | None]]:
    """Every file and folder under ``folder``: modification time and content."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in [folder, *sorted(folder.rglob("*"))]}


FIGURES = {  # an analyst's figures, every way they are shown: title -> cell
    "pyplot, last expression": "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2, 4])\n"
                               "ax.set_title('pyplot, last expression')\nfig",
    "pyplot, shown": "plt.bar(['a', 'b'], [1, 2])\nplt.title('pyplot, shown')\nplt.show()",
    "object API, last expression": "from matplotlib.figure import Figure\nf = Figure()\nf.subplots().plot([3, 1])\n"
                                   "f.axes[0].set_title('object API, last expression')\nf",
}


@pytest.mark.slow
def test_running_the_notebook_in_jupyter_writes_nothing_into_published_reports(report, tmp_path):
    """The shipped notebook as an analyst runs it in Jupyter, with figures of their own added at the end."""
    import nbclient

    published = tmp_path / "reports"
    shutil.copytree(report[0].parent, published)
    company = write_company(tmp_path / "company")
    notebook = _copy_notebook(tmp_path)
    nb = nbformat.read(notebook, as_version=4)
    parameters = next(cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", []))
    # what an analyst edits in Jupyter: the month, their data, the published history next to the reports
    parameters.source = (f"period = '2026-03'\ndata_source = {str(company)!r}\nconfig_path = None\n"
                         f"targets_path = None\nhistory_path = {str(published / 'history.sqlite')!r}\n"
                         "on_invalid = 'stop'\nrejects_dir = None\nbook_by = None\nbook = None\nmodel_path = None")
    nb.cells += [nbformat.v4.new_code_cell(source) for source in FIGURES.values()]
    before = _tree(published)
    nbclient.NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}).execute()
    assert _tree(published) == before

    # progress: one line, updated in place; nothing on stderr (Jupyter's red boxes) in any cell
    streams = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "stream"]
    assert [o.name for o in streams] == []
    lines = [o for o in _outputs(nb, "kernel.start(")
             if o.get("data", {}).get("text/plain", "").startswith("csreport: ")]
    assert len(lines) == 1 and "March 2026: data read and metrics computed in" in lines[0].data["text/plain"]
    tiles = _outputs(nb, "components.kpi_tiles(report)")[0].data["text/html"]
    assert tiles.startswith('<div class="csreport csreport-display"><style data-csreport-style>')

    for title, source in FIGURES.items():  # each shown once, as SVG only (no PNG): vector in Jupyter and the report
        outputs = _outputs(nb, source)
        assert [sorted(o.data) for o in outputs] == [["image/svg+xml", "text/plain"]], title
        svg = outputs[0].data["image/svg+xml"]
        assert svg.startswith("<svg") and f">{title}</text>" in svg  # text stays text (svg.fonttype none)
        assert "font-weight: 700" in svg and "fill: #1f2933" in svg  # the house title: bold, ink
        assert "#2f6fde" in svg and "#1f77b4" not in svg  # the first series in the house accent, not matplotlib's
