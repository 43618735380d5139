"""Whole-process peers of `csreport metrics`, for `make bench` (bench/run.py runs each as a fresh process).

    python bench/peers.py floor  DATA PERIOD   the DuckDB floor: read the six small tables, ONE grouping-sets
                                               query over the month's events (distinct users per account and
                                               day, per account, per account and feature), engagement metrics
    python bench/peers.py polars DATA PERIOD   a straightforward Polars script of the same engagement metrics
    python bench/peers.py pandas DATA PERIOD   a straightforward pandas script of the same (read the events,
                                               filter the month, group)

Each prints one JSON object: mau, dau_avg, stickiness_pct, active_accounts_pct, feature_adoption_pct (SPEC §3,
UTC, every event active), which bench/run.py checks against `csreport metrics` on the same data. The floor
computes less than csreport (no sessions, no previous or year-ago month, no health, no validation): it is
the cost of reading the month once, the least any tool can pay for this month's numbers.
"""
from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

SMALL = ("accounts", "revenue", "surveys", "tickets", "referrals", "invoices")


def month_bounds(period: str) -> tuple[datetime, datetime, int]:
    year, month = map(int, period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end, (end - start).days


def events_path(folder: Path) -> Path:
    return folder / "events.parquet" if (folder / "events.parquet").exists() else folder / "events"


def metrics(mau: int, dau_sum: int, days: int, engaged: set[str], customers: set[str],
            per_feature: dict[str, int]) -> dict:
    dau = dau_sum / days
    return {"mau": mau, "dau_avg": dau, "stickiness_pct": 100 * dau / mau if mau else None,
            "active_accounts_pct": 100 * len(engaged) / len(customers) if customers else None,
            "feature_adoption_pct": {k: 100 * v / len(engaged) for k, v in sorted(per_feature.items())}
            if engaged else None}


def floor(folder: Path, period: str) -> dict:
    import duckdb
    import pandas as pd

    start, end, days = month_bounds(period)
    tables = {name: pd.read_csv(folder / f"{name}.csv") for name in SMALL if (folder / f"{name}.csv").exists()}
    revenue = tables["revenue"]
    customers = set(revenue.loc[(revenue["month"].astype(str).str[:7] == period) & (revenue["mrr"] > 0),
                                "account_id"].astype(str))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(
        "SELECT account_id, CAST(occurred_at AS DATE) AS day, event, count(DISTINCT user_id) AS users "
        f"FROM read_parquet('{_parquet_glob(folder)}') WHERE occurred_at >= ? AND occurred_at < ? "
        "GROUP BY GROUPING SETS ((account_id, day), (account_id), (account_id, event))", [start, end]).fetch_df()
    by_day, by_event = rows["day"].notna(), rows["event"].notna()
    accounts = rows[~by_day & ~by_event]
    features = rows[by_event & rows["account_id"].astype(str).isin(customers)]
    engaged = set(accounts["account_id"].astype(str)) & customers
    # a user is (account_id, user_id): distinct users per account add up to distinct users
    mau, dau_sum = int(accounts["users"].sum()), int(rows.loc[by_day, "users"].sum())
    return metrics(mau, dau_sum, days, engaged, customers, features.groupby("event").size().to_dict())


def _parquet_glob(folder: Path) -> str:
    path = events_path(folder)
    return str(path / "**" / "*.parquet") if path.is_dir() else str(path)


def polars_script(folder: Path, period: str) -> dict:
    import polars as pl

    start, end, days = month_bounds(period)
    revenue = pl.read_csv(folder / "revenue.csv", schema_overrides={"account_id": pl.Utf8, "month": pl.Utf8})
    customers = set(revenue.filter((pl.col("month").str.slice(0, 7) == period) & (pl.col("mrr") > 0))
                    ["account_id"].to_list())
    events = (pl.scan_parquet(_parquet_glob(folder))
              .filter((pl.col("occurred_at") >= start) & (pl.col("occurred_at") < end))
              .select(pl.col("account_id").cast(pl.Utf8), pl.col("user_id").cast(pl.Utf8), pl.col("event"),
                      pl.col("occurred_at").dt.date().alias("day"))
              .collect())
    user = pl.struct("account_id", "user_id")
    mau = events.select(user.n_unique()).item()
    dau_sum = events.group_by("day").agg(user.n_unique().alias("n"))["n"].sum()
    engaged = set(events["account_id"].unique().to_list()) & customers
    per_feature = (events.filter(pl.col("account_id").is_in(list(customers))).group_by("event")
                   .agg(pl.col("account_id").n_unique().alias("n")))
    return metrics(mau, dau_sum, days, engaged, customers, dict(zip(per_feature["event"].to_list(),
                                                                    per_feature["n"].to_list(), strict=True)))


def pandas_script(folder: Path, period: str) -> dict:
    import pandas as pd

    start, end, days = month_bounds(period)
    revenue = pd.read_csv(folder / "revenue.csv", dtype={"account_id": str, "month": str})
    customers = set(revenue.loc[(revenue["month"].str[:7] == period) & (revenue["mrr"] > 0), "account_id"])
    events = pd.read_parquet(events_path(folder))
    events = events[(events["occurred_at"] >= pd.Timestamp(start)) & (events["occurred_at"] < pd.Timestamp(end))]
    events = events.assign(user=events["account_id"].astype(str) + "/" + events["user_id"].astype(str),
                           day=events["occurred_at"].dt.date, account_id=events["account_id"].astype(str))
    mau = events["user"].nunique()
    dau_sum = int(events.groupby("day")["user"].nunique().sum())
    engaged = set(events["account_id"]) & customers
    per_feature = events[events["account_id"].isin(customers)].groupby("event")["account_id"].nunique()
    return metrics(mau, dau_sum, days, engaged, customers, {str(k): int(v) for k, v in per_feature.items()})


PEERS = {"floor": floor, "polars": polars_script, "pandas": pandas_script}

if __name__ == "__main__":
    which, data, month = sys.argv[1:4]
    json.dump(PEERS[which](Path(data), month), sys.stdout)
    sys.stdout.write("\n")
