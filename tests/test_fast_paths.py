"""The vectorised helpers of the model build give what the plain pandas operations they replace give."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pandas as pd
import pytest

from csreport.data.events import EngagementAggregates, in_key_order, runs
from csreport.metrics.base import in_set, positions_in
from csreport.metrics.compute import split_aggregates
from csreport.metrics.health import band
from csreport.metrics.revenue import logo_churn_rate_pct, movements
from csreport.metrics.support import sla_outcome
from csreport.periods import Period

IDS = ["a1", "a2", "b1", "c1", None, "a1", "zz"]


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("members", [set(), {"a1"}, {"a1", "b1", "x9"}, {"a1", "a2", "b1", "c1", "zz"}])
def test_in_set_is_isin(dtype: object, members: set[str]) -> None:
    ids = pd.Series(IDS, dtype=dtype)  # type: ignore[call-overload]
    assert in_set(ids, members).tolist() == ids.isin(members).tolist()


def test_in_set_and_positions_of_empty_or_missing_ids() -> None:
    for ids in (pd.Series([], dtype=object), pd.Series([None, None], dtype=object), pd.Series([], dtype="str")):
        assert in_set(ids, {"a1"}).tolist() == [False] * len(ids)
        assert positions_in(ids, ["a1"]).tolist() == [-1] * len(ids)


def test_positions_in() -> None:
    ids = pd.Series(IDS, dtype="str")
    assert positions_in(ids, ["b1", "a1"]).tolist() == [1, -1, 0, -1, -1, 1, -1]
    assert positions_in(ids, []).tolist() == [-1] * len(IDS)


def test_split_aggregates_is_subset_per_group() -> None:
    rows = ["a1", "b1", "a2", "zz", "b1", "a1"]
    aggregates = EngagementAggregates(
        account_days=pd.DataFrame({"month": "2026-10", "account_id": pd.Series(rows, dtype="str"),
                                   "day": pd.Timestamp("2026-10-01"), "users": range(6)}),
        account_months=pd.DataFrame({"month": "2026-10", "account_id": pd.Series(rows[:3], dtype="str"),
                                     "users": [1, 2, 3]}),
        account_features=pd.DataFrame({"month": pd.Series([], dtype="str"), "account_id": pd.Series([], dtype="str"),
                                       "event": pd.Series([], dtype="str"), "users": pd.Series([], dtype="int64")}))
    members = {"A": {"a1", "a2"}, "B": {"b1"}, "C": {"c1"}}
    split = split_aggregates(aggregates, members)
    assert set(split) == set(members)
    for group, ids in members.items():
        expected = aggregates.subset(ids)
        for column in fields(EngagementAggregates):
            pd.testing.assert_frame_equal(getattr(split[group], column.name), getattr(expected, column.name))


def _matrix() -> pd.DataFrame:
    months = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    mrr = {"new": [0, 0, 0, 0, 5], "back": [3, 0, 0, 0, 4], "kept": [1, 1, 2, 2, 3], "gone": [0, 0, 1, 2, 0],
           "never": [0, 0, 0, 0, 0], "down": [9, 9, 9, 9, 1]}
    return pd.DataFrame(np.array(list(mrr.values()), dtype=float), columns=months,
                        index=pd.Index(list(mrr), name="account_id", dtype=object))


def test_movements_by_hand() -> None:
    moves = movements(_matrix(), Period.parse("2026-10"))
    assert moves["movement"].to_dict() == {"new": "new", "back": "reactivated", "kept": "retained",
                                           "gone": "churned", "down": "retained"}
    assert moves.index.name == "account_id"
    assert moves["mrr_previous"].tolist() == [0.0, 0.0, 2.0, 2.0, 9.0]
    assert movements(_matrix().iloc[:0], Period.parse("2026-10")).empty


def test_logo_churn_by_hand() -> None:
    # active in 2026-09: kept, gone, down; of them gone is not active in 2026-10
    assert logo_churn_rate_pct(_matrix(), Period.parse("2026-10")) == pytest.approx(100.0 / 3)
    # active in 2026-06: back, kept, down; back is not active in 2026-07
    assert logo_churn_rate_pct(_matrix(), Period.parse("2026-07")) == pytest.approx(100.0 / 3)
    assert logo_churn_rate_pct(_matrix().iloc[:0], Period.parse("2026-10")) is None


def test_band_of_missing_health_is_red() -> None:
    bands = band(pd.Series([80.0, 75.0, 74.9999999, 50.0, 10.0, float("nan")]), 75.0, 50.0)
    assert bands.tolist() == ["green", "green", "green", "amber", "red", "red"]
    assert bands.dtype == object


def test_sla_outcome_by_hand() -> None:
    end = pd.Timestamp("2026-11-01", tz="UTC")
    created = pd.to_datetime(["2026-10-01 00:00", "2026-10-01 00:00", "2026-10-31 20:00", "2026-10-01 00:00",
                              "2026-10-02 00:00"], utc=True)
    resolved = pd.to_datetime(["2026-10-01 10:00", "2026-10-03 00:00", None, None, "2026-11-05 00:00"], utc=True)
    outcome = sla_outcome(pd.DataFrame({"created_at": created, "resolved_at": resolved}), end, 24.0)
    # met; missed (48 h); open and young: not counted; open and old: missed; resolved after end, old: missed
    assert outcome.dtype == "boolean"
    assert outcome.tolist() == [True, False, pd.NA, False, False]


def test_in_key_order_is_a_stable_sort_missing_values_last() -> None:
    frame = pd.DataFrame({"month": ["2026-02", "2026-01", "2026-02", "2026-01", "2026-01"],
                          "account_id": ["b", "b", "a", None, "b"],
                          "minutes": [1.5, 0.0, 2.0, 3.0, 0.0],
                          "row": [0, 1, 2, 3, 4]}).astype({"month": "str", "account_id": "str"})
    # by hand: 2026-01 first (rows 1, 3, 4), account b before the missing one (rows 1, 4, then 3), and rows 1
    # and 4 tie on every key, so keep their order; then 2026-02: a (row 2) before b (row 0)
    ordered = in_key_order(frame, ["month", "account_id", "minutes"])
    assert ordered["row"].tolist() == [1, 4, 3, 2, 0]
    assert ordered.index.tolist() == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(ordered, frame.sort_values(["month", "account_id", "minutes"], kind="stable")
                                  .reset_index(drop=True))
    # rows already in order come back as they are
    assert in_key_order(ordered, ["month", "account_id", "minutes"])["row"].tolist() == [1, 4, 3, 2, 0]


def test_in_key_order_compares_texts_by_code_point_and_keeps_ordered_rows_in_place(monkeypatch) -> None:
    from csreport.data import events

    # code points: "B" (66) < "a" (97) < "b" (98) < "é" (233), whatever the locale says
    ordered = pd.DataFrame({"month": ["2026-01", "2026-01", "2026-01", "2026-01", "2026-02"],
                            "account_id": ["B", "a", "a", "é", "B"],
                            "minutes": [9.0, 1.0, 1.0, 0.0, 0.0],
                            "row": [0, 1, 2, 3, 4]}).astype({"month": "str", "account_id": "str"})
    keys = ["month", "account_id", "minutes"]
    assert isinstance(ordered["account_id"].array, pd.arrays.ArrowStringArray)
    # already in order (rows 1 and 2 tie on every key): checked, never sorted
    monkeypatch.setattr(events, "_ranks", lambda *_: pytest.fail("rows in order were sorted"))
    assert in_key_order(ordered, keys)["row"].tolist() == [0, 1, 2, 3, 4]
    monkeypatch.undo()
    # out of order on the last key only (a/2.0 before a/1.0), or on the first only: sorted as sort_values does
    for swapped in ([0, 2, 1, 3, 4], [4, 0, 1, 2, 3]):
        shuffled = ordered.iloc[swapped].assign(minutes=lambda f: f["minutes"].where(f["row"] != 2, 2.0))
        expected = shuffled.sort_values(keys, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(in_key_order(shuffled, keys), expected)
    # by hand: 2026-01 B/9 (row 0), then a/1 twice, tied on every key, in the order given (row 2, row 1),
    # é/0 (row 3), then 2026-02 B/0 (row 4)
    assert in_key_order(ordered.iloc[[4, 0, 2, 1, 3]], keys)["row"].tolist() == [0, 2, 1, 3, 4]


def test_runs_split_contiguous_months_at_the_longest() -> None:
    months = [Period(2024, m) for m in (1, 2, 3, 4, 5, 6, 7, 9)] + [Period(2025, 1)]
    as_text = [(str(a), str(b)) for a, b in runs(months, longest=3)]
    # 01-07 is one run of 7 months: 3 + 3 + 1; September and January stand alone
    assert as_text == [("2024-01", "2024-03"), ("2024-04", "2024-06"), ("2024-07", "2024-07"),
                       ("2024-09", "2024-09"), ("2025-01", "2025-01")]
    assert [(str(a), str(b)) for a, b in runs(months)] == [("2024-01", "2024-07"), ("2024-09", "2024-09"),
                                                           ("2025-01", "2025-01")]
    # December to January is contiguous across the year
    assert [(str(a), str(b)) for a, b in runs([Period(2024, 12), Period(2025, 1)], longest=2)] == [
        ("2024-12", "2025-01")]


@pytest.mark.parametrize("months", [["2026-01", "2026-01", "2026-02"], ["2026-01", "2026-02", "2026-01"]])
def test_for_month_takes_each_months_rows_in_order_contiguous_or_not(months: list[str]) -> None:
    frame = pd.DataFrame({"month": months, "account_id": ["a", "b", "c"], "users": [1, 2, 3]}).astype(
        {"month": "str", "account_id": "str"})
    empty = frame.iloc[:0]
    aggregates = EngagementAggregates(account_days=empty.assign(day=pd.Series([], dtype="datetime64[us]")),
                                      account_months=frame, account_features=empty.assign(event=[]))
    january = aggregates.for_month(Period(2026, 1)).account_months
    # by hand: the rows whose month is 2026-01, in their order, without the month column, indexed from 0
    expected = frame[frame["month"] == "2026-01"].drop(columns="month").reset_index(drop=True)
    pd.testing.assert_frame_equal(january, expected)
    assert january["account_id"].tolist() == (["a", "b"] if months[1] == "2026-01" else ["a", "c"])
    assert aggregates.for_month(Period(2026, 3)).account_months.empty
