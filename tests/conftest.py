"""Shared fixtures: a small company whose every metric was worked out by hand.

The period under test is March 2026 (31 days; start 2026-03-01T00:00Z, end
2026-04-01T00:00Z). Each test module writes the arithmetic next to its asserts.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from csreport.cli import main

# remembered validation and content hashes (csreport.data.cache) go to a throw-away folder per test process,
# never into the user's ~/.cache; subprocesses inherit it
os.environ["CSREPORT_CACHE_DIR"] = tempfile.mkdtemp(prefix="csreport-test-cache-")

ACCOUNTS = [
    # account_id, name, segment, signup_date, onboarded_at
    ("A", "Acme <b>Corp</b>", "SMB", "2025-01-01", "2025-01-10"),
    ("B", "Blue & Co", "SMB", "2025-01-01", "2025-01-10"),
    ("C", "Cedar", "Mid-Market", "2025-01-01", "2025-01-10"),
    ("D", "Delta", "Mid-Market", "2025-01-01", "2025-01-10"),
    ("E", "Echo", "Enterprise", "2025-01-01", "2025-01-10"),
    ("F", "Fox", "Enterprise", "2025-01-01", "2025-01-10"),
    ("G", "Gamma (prospect)", "SMB", "2025-01-01", ""),
    ("O1", "Onb 1", "SMB", "2026-01-30", "2026-02-28"),
    ("O2", "Onb 2", "SMB", "2026-02-10", "2026-03-12"),
    ("O3", "Onb 3", "SMB", "2026-03-01", "2026-04-05"),
    ("O4", "Onb 4", "SMB", "2026-03-02", "2026-03-05"),
    ("O5", "Onb 5", "SMB", "2026-01-29", ""),
    ("O6", "Onb 6", "SMB", "2026-02-20", ""),
]

REVENUE = [
    ("A", "2026-01", 100), ("A", "2026-02", 100), ("A", "2026-03", 150),  # expansion +50
    ("B", "2026-01", 200), ("B", "2026-02", 200), ("B", "2026-03", 120),  # contraction 80
    ("C", "2026-01", 50), ("C", "2026-03-01", 70),  # reactivated (first-of-month date form)
    ("D", "2026-03", 40),  # new
    ("E", "2026-02", 300), ("E", "2026-03", 0),  # churned (explicit zero row)
    ("F", "2026-01", 10), ("F", "2026-02", 10), ("F", "2026-03", 10),  # flat
]

SURVEYS = [
    # response_id, account_id, survey, score, responded_at, comment
    ("S1", "A", "nps", 3, "2025-06-01T10:00:00Z", "old answer"),
    ("S2", "A", "nps", 9, "2026-03-10T10:00:00Z", "Great <script>alert(1)</script>"),
    ("S3", "B", "nps", 10, "2026-03-05T09:00:00Z", ""),
    ("S4", "B", "nps", 6, "2026-03-05T09:00:00Z", "slow support"),
    ("S5", "C", "nps", 8, "2026-03-01T00:00:00Z", ""),  # first instant of March: in
    ("S6", "C", "nps", 0, "2026-04-01T00:00:00Z", ""),  # first instant of April: out
    ("S7", "F", "nps", 10, "2026-01-15T12:00:00Z", ""),
    ("S8", "A", "csat", 5, "2026-03-03T10:00:00Z", ""),
    ("S9", "A", "csat", 4, "2026-03-04T10:00:00Z", ""),
    ("S10", "B", "csat", 3, "2026-03-05T10:00:00Z", ""),
    ("S11", "C", "csat", 2, "2026-03-06T10:00:00Z", ""),
    ("S12", "D", "csat", 4, "2026-03-07T10:00:00Z", ""),
    ("S13", "A", "ces", 7, "2026-03-08T10:00:00Z", ""),
    ("S14", "B", "ces", 5, "2026-03-09T10:00:00Z", ""),
    ("S15", "C", "ces", 6, "2026-03-10T10:00:00Z", ""),
]

TICKETS = [
    # ticket_id, account_id, created_at, first_response_at, resolved_at
    ("T1", "A", "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z", "2026-03-03T10:00:00Z"),  # 2 h, 24 h: met
    ("T2", "A", "2026-03-05T00:00:00Z", "2026-03-05T06:00:00Z", "2026-03-08T00:00:00Z"),  # 6 h, 72 h: missed
    ("T3", "B", "2026-03-30T12:00:00Z", "", ""),  # open, 36 h old at end: not counted
    ("T4", "C", "2026-03-10T00:00:00Z", "2026-04-01T00:00:00Z", ""),  # open, 22 days old: missed
    ("T5", "D", "2026-02-25T00:00:00Z", "2026-02-25T01:00:00Z", "2026-03-01T00:00:00Z"),  # resolved in March, 96 h
    ("T6", "F", "2026-03-31T00:00:00Z", "2026-03-31T01:00:00Z", "2026-04-02T00:00:00Z"),  # resolved after end
    ("T7", "A", "2026-01-10T00:00:00Z", "2026-01-10T01:00:00Z", "2026-02-01T00:00:00Z"),
    ("T8", "B", "2026-02-20T00:00:00Z", "", ""),  # open since February: backlog
]

EVENTS = [
    # account_id, user_id, event, occurred_at
    ("A", "u1", "login", "2026-03-01T00:00:00Z"),  # first instant of March: in
    ("A", "u1", "search", "2026-03-01T05:00:00Z"),
    ("A", "u2", "login", "2026-03-02T10:00:00Z"),
    ("B", "u1", "export", "2026-03-31T23:59:59Z"),
    ("B", "u1", "export", "2026-04-01T00:00:00Z"),  # first instant of April: out
    ("A", "u1", "login", "2026-02-28T23:59:59Z"),  # out
    ("G", "u9", "login", "2026-03-15T12:00:00Z"),  # not a customer, still a user
]

REFERRALS = [
    ("R1", "A", "2026-03-03T00:00:00Z", "true"),
    ("R2", "A", "2026-03-04T00:00:00Z", "false"),
    ("R3", "G", "2026-03-05T00:00:00Z", "true"),
    ("R4", "B", "2026-04-01T00:00:00Z", "true"),  # April: out
]

INVOICES = [
    ("I1", "A", "2026-01-15", "2026-01-10", 100),  # on time
    ("I2", "A", "2026-02-15", "2026-02-20", 100),  # late
    ("I3", "A", "2026-03-15", "2026-04-05", 150),  # paid after end(P): unpaid for March
    ("I4", "B", "2025-12-15", "", 200),  # due before the 90-day window
    ("I5", "B", "2026-03-31", "2026-03-31", 120),  # paid on the due date: on time
]


# which survey responses rate a support ticket (the optional surveys.ticket_id); the others have none
SURVEY_TICKET_IDS = {"S2": "T1", "S8": "T1", "S9": "T2", "S10": "T3", "S11": "T4", "S13": "T2"}


def write_table(folder: Path, name: str, columns: list[str], rows: list[tuple]) -> Path:
    path = folder / f"{name}.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def write_company(folder: Path, **overrides) -> Path:
    """Write the hand-computed company as CSV files; ``overrides`` replace or (None) drop tables."""
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "accounts": (["account_id", "name", "segment", "signup_date", "onboarded_at"], ACCOUNTS),
        "revenue": (["account_id", "month", "mrr"], REVENUE),
        "surveys": (["response_id", "account_id", "survey", "score", "responded_at", "comment"], SURVEYS),
        "tickets": (["ticket_id", "account_id", "created_at", "first_response_at", "resolved_at"], TICKETS),
        "events": (["account_id", "user_id", "event", "occurred_at"], EVENTS),
        "referrals": (["referral_id", "referrer_account_id", "referred_at", "converted"], REFERRALS),
        "invoices": (["invoice_id", "account_id", "due_date", "paid_date", "amount"], INVOICES),
    }
    for name, (columns, rows) in tables.items():
        if name in overrides:
            if overrides[name] is None:
                continue
            rows = overrides[name]
        write_table(folder, name, columns, rows)
    return folder


@pytest.fixture(autouse=True)
def _run_elsewhere(tmp_path_factory, monkeypatch):
    """Every test runs in an empty folder: defaults relative to the working directory (reports/history.sqlite,
    csreport-rejects/) never read or write a developer's own reports."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def company(tmp_path: Path) -> Path:
    return write_company(tmp_path / "company")


@pytest.fixture(scope="session")
def march(tmp_path_factory):
    """metrics.json of the hand-computed company for 2026-03, computed once for the tests that only read it."""
    return metrics_of(write_company(tmp_path_factory.mktemp("march") / "company"))


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    """`csreport run` on the hand-computed company for March 2026, no history: (folder, stdout).

    Shared by the report tests (read only). The SMTP password is set while it runs: no output may hold it.
    """
    import os

    tmp = tmp_path_factory.mktemp("report")
    source = write_company(tmp / "company")
    os.environ["CSREPORT_SMTP_PASSWORD"] = "hunter2-never-print-me"
    try:
        code, out, err = run_cli("run", "--data", source, "--period", "2026-03", "--out", tmp / "reports", "--quiet")
    finally:
        del os.environ["CSREPORT_SMTP_PASSWORD"]
    assert code == 0, err
    return tmp / "reports" / "2026-03", out


def with_ticket_ids(folder: Path, ticket_ids: dict[str, str] = SURVEY_TICKET_IDS) -> Path:
    """Add the optional surveys.ticket_id column to a written company (empty where a response names none)."""
    path = folder / "surveys.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["ticket_id"] = frame["response_id"].map(ticket_ids).fillna("")
    frame.to_csv(path, index=False)
    return folder


@pytest.fixture
def company_with_ticket_ids(tmp_path: Path) -> Path:
    return with_ticket_ids(write_company(tmp_path / "company"))


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the csreport command line in-process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


# a history store that never exists: metrics_of compares with no history unless a test passes --history
NO_HISTORY = Path(tempfile.gettempdir()) / f"csreport-tests-{os.getpid()}-no-history" / "history.sqlite"


def metrics_of(source: Path, period: str = "2026-03", *extra: str) -> dict:
    """metrics.json of ``source`` for ``period`` (no history store unless ``extra`` names one)."""
    history = () if "--history" in extra else ("--history", NO_HISTORY)
    code, out, err = run_cli("metrics", "--data", source, "--period", period, "--quiet", *history, *extra)
    assert code == 0, err
    return json.loads(out)


# -- real engines: PostgreSQL on loopback and Spark in local mode, one of each per test run ----------

ENGINES = ("duckdb", "postgresql", "spark")


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server for the whole run (Debian binaries); missing binaries fail, never skip."""
    import pgserver

    try:
        server = pgserver.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def pg(pg_server, monkeypatch):
    """The server, with PGPASSWORD set as a user would (the URL never holds it)."""
    import pgserver

    monkeypatch.setenv("PGPASSWORD", pgserver.PASSWORD)
    return pg_server


_schemas = iter(range(1, 1_000_000))


def load_into_postgres(server, folder: Path, types: dict[str, dict[str, str]] | None = None) -> str:
    """Copy every CSV table of ``folder`` into a fresh schema (text columns, then ``types`` per column);
    return the --data URL (without password)."""
    import psycopg

    schema = f"company{next(_schemas)}"
    with psycopg.connect(server.conninfo(), autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        for path in sorted(folder.glob("*.csv")):
            header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
            columns = ", ".join(f'"{c}" text' for c in header)
            con.execute(f'CREATE TABLE {schema}."{path.stem}" ({columns})')
            with con.cursor().copy(f'COPY {schema}."{path.stem}" FROM STDIN WITH (FORMAT csv, HEADER true)') as copy:
                copy.write(path.read_bytes())
            for column, kind in (types or {}).get(path.stem, {}).items():
                con.execute(f'ALTER TABLE {schema}."{path.stem}" ALTER COLUMN "{column}" TYPE {kind} '
                            f'USING "{column}"::{kind}')
    return server.url(schema=schema)


@pytest.fixture(scope="session")
def spark_ready():
    """One local Spark session for the whole run, created with test-sized settings; csreport's own
    getOrCreate() reuses it. Missing Java fails, never skips."""
    import os
    import shutil

    if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        pytest.fail("Java 17 or newer is needed for the Spark tests: apt-get install openjdk-17-jre-headless "
                    "(or set JAVA_HOME)", pytrace=False)
    from csreport.config import Config
    from csreport.data.spark import spark_session

    session = spark_session(Config(spark={"master": "local[2]", "conf": {
        "spark.sql.shuffle.partitions": 2, "spark.default.parallelism": 2, "spark.driver.memory": "1g"}}))
    yield session
    session.stop()


def events_to_parquet(folder: Path, typed_time: bool = False) -> Path:
    """Replace events.csv by events.parquet (text columns; occurred_at a UTC timestamp if ``typed_time``)."""
    if not (folder / "events.csv").exists():
        return folder
    events = pd.read_csv(folder / "events.csv", dtype=str, keep_default_na=False, na_values=[""])
    if typed_time:
        events["occurred_at"] = pd.to_datetime(events["occurred_at"], utc=True, format="ISO8601")
    events.to_parquet(folder / "events.parquet", index=False)
    (folder / "events.csv").unlink()
    return folder


def events_in_nanoseconds(company: Path, stamp_type: str) -> None:
    """Replace the hand company's events.csv by events.parquet with nanosecond timestamps, as pandas before
    3.0 writes them (``stamp_type`` 'timestamp[ns, tz=UTC]' or 'timestamp[ns]': wall-clock time of the config's
    zone), plus B/u5 at 2026-03-31T23:59:59.9999996Z: 0.4 µs before April."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    events = pd.read_csv(company / "events.csv", dtype=str)
    (company / "events.csv").unlink()
    late = pd.DataFrame([("B", "u5", "login", "2026-03-31T23:59:59.9999996Z")], columns=events.columns)
    events = pd.concat([events, late], ignore_index=True)
    stamps = pd.to_datetime(events["occurred_at"], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    if stamp_type == "timestamp[ns]":
        stamps = stamps.dt.tz_localize(None)
    columns = {name: pa.array(events[name].tolist(), pa.string()) for name in ("account_id", "user_id", "event")}
    table = pa.table({**columns, "occurred_at": pa.array(stamps)})
    assert str(table.schema.field("occurred_at").type) == stamp_type
    pq.write_table(table, company / "events.parquet")


def on_engine(engine: str, folder: Path, request) -> tuple[str, list[str]]:
    """The --data argument and extra flags that read the CSV company ``folder`` through ``engine``."""
    if engine == "duckdb":
        return str(folder), []
    if engine == "postgresql":
        return load_into_postgres(request.getfixturevalue("pg"), folder), []
    request.getfixturevalue("spark_ready")
    copy = folder.parent / f"{folder.name}-spark"
    if not copy.exists():
        import shutil

        shutil.copytree(folder, copy)
        events_to_parquet(copy)
    return str(copy), ["--engine", "spark"]


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (make test: -n auto --dist loadgroup), the slow tests that run notebooks or install
    the package go to one worker together, and the tests on real engines (one PostgreSQL server and one Spark
    session per worker) to another, while the in-process tests share what is left."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))
        elif {"pg_server", "pg", "spark_ready"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("engines"))
