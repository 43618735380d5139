"""Sessions, time in product and the active-user definition (SPEC §3), worked out by hand and
checked on DuckDB, PostgreSQL and Spark alike. Period 2026-03 (UTC), session gap 30 minutes
unless a test says otherwise; start(P) = 2026-03-01T00:00Z, end(P) = 2026-04-01T00:00Z.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ENGINES, metrics_of, on_engine, run_cli, write_company

from csreport.config import load_config
from csreport.data import load_dataset
from csreport.data.engines import DuckDBEngine
from csreport.metrics.sessions import session_metrics, weighted_median
from csreport.periods import Period

SESSION_EVENTS = [
    # A/s1: starts 10 min before start(P) and goes on into March -> one FEBRUARY session
    ("A", "s1", "login", "2026-02-28T23:50:00Z"),
    ("A", "s1", "search", "2026-03-01T00:10:00Z"),  # 20 min later: same session
    ("A", "s1", "search", "2026-03-01T00:30:00Z"),  # 20 min later: same session
    # A/s2: exactly the gap apart (same session), then the gap plus one second (new session)
    ("A", "s2", "login", "2026-03-02T10:00:00Z"),
    ("A", "s2", "search", "2026-03-02T10:30:00Z"),  # exactly 30 min: same session -> 30 min
    ("A", "s2", "export", "2026-03-02T11:00:01Z"),  # 30 min 1 s: a new, single-instant session -> 0 min
    # A/s3: two events at the same instant are one instant; a third 10 min later -> one session of 10 min
    ("A", "s3", "login", "2026-03-03T09:00:00Z"),
    ("A", "s3", "search", "2026-03-03T09:00:00Z"),
    ("A", "s3", "export", "2026-03-03T09:10:00Z"),
    # B/s1: crosses end(P): the April instant does not exist for March -> 23:40 .. 23:55 = 15 min
    ("B", "s1", "login", "2026-03-31T23:40:00Z"),
    ("B", "s1", "search", "2026-03-31T23:55:00Z"),
    ("B", "s1", "search", "2026-04-01T00:05:00Z"),
    # B/s2: two events at one instant -> one single-instant session of 0 min
    ("B", "s2", "export", "2026-03-15T12:00:00Z"),
    ("B", "s2", "login", "2026-03-15T12:00:00Z"),
    # C/s1: 30 min 1 s after a February instant -> a new MARCH session 00:00 .. 00:25 = 25 min
    ("C", "s1", "login", "2026-02-28T23:29:59Z"),
    ("C", "s1", "login", "2026-03-01T00:00:00Z"),
    ("C", "s1", "search", "2026-03-01T00:25:00Z"),
    # C/s2: exactly the gap after a February instant (the first instant the scan reads) -> February's session
    ("C", "s2", "login", "2026-02-28T23:30:00Z"),
    ("C", "s2", "login", "2026-03-01T00:00:00Z"),
]
# March sessions: A/s2 30, A/s2 0, A/s3 10, B/s1 15, B/s2 0, C/s1 25 (A/s1 and C/s2 belong to February)
MARCH = [30, 0, 10, 15, 0, 25]


@pytest.fixture(scope="module")
def sessions_company(tmp_path_factory):
    return write_company(tmp_path_factory.mktemp("sessions") / "company", events=SESSION_EVENTS)


@pytest.mark.parametrize("engine", ENGINES)
def test_session_metrics_by_hand(engine, sessions_company, request):
    data_source, extra = on_engine(engine, sessions_company, request)
    m = metrics_of(data_source, "2026-03", *extra)["metrics"]
    assert m["sessions"] == 6
    # sorted 0, 0, 10, 15, 25, 30: an even count, the mean of the two middle values (10 + 15) / 2
    assert m["session_minutes_median"] == pytest.approx(12.5)
    assert m["session_minutes_avg"] == pytest.approx(80 / 6)  # (30 + 0 + 10 + 15 + 0 + 25) / 6
    # users with a March session: A/s2, A/s3, B/s1, B/s2, C/s1 (A/s1 and C/s2 only continue February's)
    assert m["session_users"] == 5
    assert m["sessions_per_user_avg"] == pytest.approx(6 / 5)
    assert m["time_in_product_hours_per_user"] == pytest.approx(80 / 60 / 5)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_wider_gap_and_a_two_month_scan(engine, sessions_company, tmp_path, request):
    data_source, extra = on_engine(engine, sessions_company, request)
    config_path = tmp_path / "gap.yaml"
    config_path.write_text("session_gap_minutes: 20\n")
    if extra:
        config_path.write_text("session_gap_minutes: 20\nengine: spark\n")
    m = metrics_of(data_source, "2026-03", "--config", str(config_path))["metrics"]
    # gap 20 min: A/s1 00:10 follows 23:50 by exactly 20 min -> still February's; 00:30 likewise.
    # A/s2: 10:00 | 10:30 | 11:00:01 -> three sessions of 0; A/s3: 09:00..09:10 = 10;
    # B/s1: 23:40..23:55 = 15; B/s2: 0; C/s1: 00:00 (30 min after Feb) .. 00:25 is 25 min apart -> 0 and 0;
    # C/s2: 00:00 is 30 min after 23:30 -> a new March session of 0.
    # 3 + 1 + 1 + 1 + 2 + 1 = 9 sessions, durations 0 x7, 10, 15; users A/s2 A/s3 B/s1 B/s2 C/s1 C/s2
    assert m["sessions"] == 9 and m["session_users"] == 6
    assert m["session_minutes_median"] == 0.0 and m["session_minutes_avg"] == pytest.approx(25 / 9)

    # one scan over February and March (what the report does): March is unchanged, and February has
    # A/s1 (23:50, truncated at end(Feb): 0 min) and C/s2 (23:30 alone in Feb: 0 min); C/s1's 23:29:59 is a
    # third February session of 0 min
    config = load_config(None)
    if extra:
        config = config.model_copy(update={"engine": "spark"})
    events = load_dataset(data_source, config, quiet=True).events
    both = events.aggregates(Period(2026, 2), Period(2026, 3))
    march = session_metrics(both.for_month(Period(2026, 3)).account_sessions,
                            both.for_month(Period(2026, 3)).account_session_users).values
    assert march["sessions"] == 6 and march["session_minutes_avg"] == pytest.approx(80 / 6)
    feb = both.for_month(Period(2026, 2))
    assert feb.account_sessions["sessions"].sum() == 3 and feb.account_sessions["duration_minutes"].max() == 0


def test_active_events_by_hand(company, tmp_path, request):
    # company events in March: A/u1 login (Mar 1), A/u1 search (Mar 1), A/u2 login (Mar 2), B/u1 export (Mar 31),
    # G/u9 login (Mar 15); customers in March: A, B, C, D, F
    default = metrics_of(company)["metrics"]
    config_path = tmp_path / "active.yaml"
    config_path.write_text("engagement:\n  active_events: [login]\n")
    for engine in ENGINES:
        data_source, extra = on_engine(engine, company, request)
        m = metrics_of(data_source, "2026-03", "--config", str(config_path), *extra)["metrics"]
        # only logins make users active: A/u1 (Mar 1), A/u2 (Mar 2), G/u9 (Mar 15) -> MAU 3, 3 user-days
        assert m["mau"] == 3 and m["dau_avg"] == pytest.approx(3 / 31)
        assert m["stickiness_pct"] == pytest.approx(100 * (3 / 31) / 3)
        # customers with a login: A only -> 1 of 5 (B's export no longer counts)
        assert m["active_accounts_pct"] == pytest.approx(20.0)
        # adoption and sessions still count every event: A and B engaged; login A, search A, export B
        assert m["feature_adoption_pct"] == default["feature_adoption_pct"] == {
            "export": 50.0, "login": 50.0, "search": 50.0}
        assert m["sessions"] == default["sessions"]
        # health usage: B drops from 1 active day (100/31) to 0; weight 0.4 over 5 customers
        assert m["health_avg"] == pytest.approx(default["health_avg"] - 0.4 * (100 / 31) / 5)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_active_event_that_never_occurs_is_reported(engine, company, tmp_path, request):
    data_source, extra = on_engine(engine, company, request)
    config_path = tmp_path / "typo.yaml"
    config_path.write_text("engagement:\n  active_events: [login, logni]\n")
    code, out, err = run_cli("metrics", "--data", data_source, "--period", "2026-03", "--config", config_path, *extra)
    assert code == 0, err
    problems = json.loads(out)["data_quality"]["events"]["problems"]
    assert any("'logni'" in p and "never occur" in p for p in problems) and not any("'login'" in p for p in problems)
    assert "logni" in err  # also said while loading


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_denominators(engine, sessions_company, tmp_path, request):
    data_source, extra = on_engine(engine, sessions_company, request)
    doc = metrics_of(data_source, "2026-06", *extra)  # no event in June
    m, notes = doc["metrics"], doc["notes"]
    assert m["sessions"] == 0 and m["session_users"] == 0
    for key in ("session_minutes_median", "session_minutes_avg", "sessions_per_user_avg",
                "time_in_product_hours_per_user", "stickiness_pct"):
        assert m[key] is None and notes[key], key
    # an active-events list that matches nothing: MAU 0, so stickiness is null; active accounts 0.0 of 5
    config_path = tmp_path / "none.yaml"
    config_path.write_text("engagement:\n  active_events: [never]\n")
    m = metrics_of(data_source, "2026-03", "--config", str(config_path), *extra)["metrics"]
    assert m["mau"] == 0 and m["stickiness_pct"] is None and m["active_accounts_pct"] == 0.0


def test_without_events_the_session_keys_are_not_available(tmp_path):
    doc = metrics_of(write_company(tmp_path / "no-events", events=None))
    for key in ("sessions", "session_minutes_median", "session_users", "time_in_product_hours_per_user"):
        assert doc["metrics"][key] is None and doc["notes"][key].startswith("not available")


def test_session_metrics_is_a_pure_function_of_the_histograms():
    # two accounts: X has 2 sessions of 5 min and 1 of 60; Y has 1 of 10; users X 2, Y 1
    sessions = pd.DataFrame({"account_id": ["X", "X", "Y"], "duration_minutes": [5.0, 60.0, 10.0],
                             "sessions": [2, 1, 1]})
    users = pd.DataFrame({"account_id": ["X", "Y"], "users": [2, 1]})
    v = session_metrics(sessions, users).values
    assert v["sessions"] == 4 and v["session_users"] == 3
    assert v["session_minutes_median"] == pytest.approx(7.5)  # 5, 5, 10, 60 -> (5 + 10) / 2
    assert v["session_minutes_avg"] == pytest.approx(80 / 4)
    assert v["sessions_per_user_avg"] == pytest.approx(4 / 3)
    assert v["time_in_product_hours_per_user"] == pytest.approx(80 / 60 / 3)
    assert weighted_median(pd.Series([3.0, 1.0, 2.0]), pd.Series([1, 1, 1])) == 2.0  # odd count: the middle
    assert weighted_median(pd.Series([1.0]), pd.Series([0])) is None


def _sessions_partitions(monkeypatch) -> list[str]:
    """Records what each sessions query DuckDB runs partitions its users by."""
    seen: list[str] = []

    def recording(method):
        def record(self, sql):
            if sql.startswith("WITH sessions AS"):
                # the expression the window passes know a user by (user_ref), and what they partition by
                ref = sql.split(" AS user_ref, instant", 1)[0].rsplit("SELECT account_id, ", 1)[1]
                seen.append(f'{ref} by {sql.split("OVER (PARTITION BY ", 1)[1].split(" ORDER BY", 1)[0]}')
            return method(self, sql)
        return record

    for name in ("_run", "_frame"):  # rows and frames are fetched by different DuckDB calls
        monkeypatch.setattr(DuckDBEngine, name, recording(getattr(DuckDBEngine, name)))
    return seen


def test_the_sessions_query_partitions_by_a_hash_when_no_two_users_share_one(sessions_company, monkeypatch):
    partitions = _sessions_partitions(monkeypatch)
    m = metrics_of(sessions_company, "2026-03")["metrics"]
    assert partitions and set(partitions) == {"hash(account_id, user_id) by user_ref"}
    assert (m["sessions"], m["session_users"], m["session_minutes_median"]) == (6, 5, 12.5)  # as by hand above


def test_a_user_key_two_users_share_is_not_used(sessions_company, monkeypatch):
    # every user_id here is 2 characters long: partitioned by its length, A/s1, A/s2, A/s3, B/s1, ... would
    # be one timeline; the collision check finds that and the query partitions by the two columns instead
    monkeypatch.setattr(DuckDBEngine, "user_key_hash", "length(user_id)")
    partitions = _sessions_partitions(monkeypatch)
    m = metrics_of(sessions_company, "2026-03")["metrics"]
    assert partitions and set(partitions) == {"user_id by account_id, user_ref"}
    # the hand values of test_session_metrics_by_hand: 6 sessions (0, 0, 10, 15, 25, 30 min) of 5 users
    assert (m["sessions"], m["session_users"], m["session_minutes_median"]) == (6, 5, 12.5)
    assert m["session_minutes_avg"] == pytest.approx(80 / 6)


def test_the_engine_returns_every_aggregate_in_key_order(sessions_company, monkeypatch):
    """Both queries sort their rows (ORDER BY), so no aggregate frame is sorted again in pandas."""
    from csreport.data import events

    monkeypatch.setattr(events, "_ranks", lambda *_: pytest.fail("an engine result was sorted in pandas"))
    m = metrics_of(sessions_company, "2026-03")["metrics"]
    assert (m["sessions"], m["session_users"], m["session_minutes_median"]) == (6, 5, 12.5)  # the hand values
