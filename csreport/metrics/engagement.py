"""Engagement metrics (SPEC §3, from ``events``), computed from the events engine's aggregates.

Inputs are the month's slices of :class:`csreport.data.events.EngagementAggregates`:
``account_days`` (account_id, day, users) and ``account_months`` (account_id, users) count
only the events of config ``engagement.active_events`` (default every event: the
active-user definition); ``account_features`` (account_id, event, users) counts every
event. A user is the pair (account_id, user_id), so distinct users add up across accounts.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .base import MetricSet, in_set, pct

if TYPE_CHECKING:
    from ..data.events import EngagementAggregates


def mau(account_months: pd.DataFrame) -> int:
    """Distinct users with at least one event in P."""
    return int(account_months["users"].sum())


def dau_avg(account_days: pd.DataFrame, days_in_period: int) -> float:
    """Mean over every calendar day of P of the distinct users that day (days with none count as 0)."""
    return float(account_days["users"].sum()) / days_in_period


def accounts_with_events(account_months: pd.DataFrame, customers: set[str]) -> set[str]:
    """Customers active in P with at least one event in P."""
    return set(account_months["account_id"]) & customers


def feature_adoption_pct(account_features: pd.DataFrame, customers: set[str]) -> dict[str, float] | None:
    """{feature: 100 · #customers that used it / #customers with ≥ 1 event}; None if no customer had events."""
    used = account_features[in_set(account_features["account_id"], customers)]
    engaged = used["account_id"].nunique()
    if engaged == 0:
        return None
    per_feature = used.groupby("event")["account_id"].nunique().sort_values(ascending=False, kind="stable")
    return {str(event): 100.0 * count / engaged for event, count in per_feature.items()}


def engagement_metrics(aggregates: EngagementAggregates, customers: set[str], days_in_period: int) -> MetricSet:
    """Every engagement metric of SPEC §3 from the month's slice of the aggregates.

    mau                  = # distinct users (account, user) with an event in P
    dau_avg              = mean over the days of P of the distinct users that day (a day with none counts 0)
    stickiness_pct       = 100 · dau_avg / mau
    active_accounts_pct  = 100 · customers active in P with an event in P / customers_end
    feature_adoption_pct = per feature: 100 · customers that used it in P / customers with any event in P

    Without an events table there are none: :func:`csreport.metrics.compute.compute_metrics` reports
    every events metric "not available" (:meth:`MetricSet.table_missing`).
    """
    out = MetricSet()
    monthly_users = mau(aggregates.account_months)
    daily = dau_avg(aggregates.account_days, days_in_period)
    out.put("mau", monthly_users)
    out.put("dau_avg", daily)
    out.put("stickiness_pct", pct(daily, monthly_users), "no events in the period (MAU is 0)")
    engaged = accounts_with_events(aggregates.account_months, customers)
    out.put("active_accounts_pct", pct(len(engaged), len(customers)), "no customers active in the period")
    out.put("feature_adoption_pct", feature_adoption_pct(aggregates.account_features, customers),
            "no active customer had an event in the period")
    return out
