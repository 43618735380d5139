"""Sessions and time in product (SPEC §3), from the engine's per-account session aggregates.

Inputs are one month's slices of :class:`csreport.data.events.EngagementAggregates`:

* ``account_sessions``      account_id, duration_minutes, sessions — how many sessions of the
  account started in P with exactly that duration (a histogram, so medians stay exact for
  any group of accounts);
* ``account_session_users`` account_id, users — distinct users with a session of P.

A session is a run of one user's distinct event instants no more than
``session_gap_minutes`` apart; it belongs to the month of its first instant and
lasts from its first instant to its last instant before end(P).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .base import MetricSet


def weighted_median(values: pd.Series, weights: pd.Series) -> float | None:
    """Median of ``values`` each repeated ``weights`` times (even count: mean of the two middle values)."""
    total = int(weights.sum())
    if total == 0:
        return None
    order = np.argsort(values.to_numpy(dtype=float), kind="stable")
    sorted_values = values.to_numpy(dtype=float)[order]
    cumulative = np.cumsum(weights.to_numpy(dtype=np.int64)[order])
    # 0-based positions of the middle element(s) in the expanded, sorted list
    low, high = (total - 1) // 2, total // 2
    return float((sorted_values[np.searchsorted(cumulative, low + 1)]
                  + sorted_values[np.searchsorted(cumulative, high + 1)]) / 2)


def session_metrics(account_sessions: pd.DataFrame, account_session_users: pd.DataFrame) -> MetricSet:
    """Every session metric of SPEC §3 for one period (without an events table there are none:
    :func:`csreport.metrics.compute.compute_metrics` reports every events metric "not available").

    sessions                       = Σ sessions                                     (count)
    session_minutes_median         = median duration over the sessions              (minutes)
    session_minutes_avg            = Σ duration · sessions / Σ sessions             (minutes)
    session_users                  = Σ distinct users with a session (per account)  (count; users are
                                     (account_id, user_id) pairs, so they add up across accounts)
    sessions_per_user_avg          = sessions / session_users                       (sessions per user)
    time_in_product_hours_per_user = Σ duration / 60 / session_users                (hours per user)
    """
    out = MetricSet()
    count = int(account_sessions["sessions"].sum())
    users = int(account_session_users["users"].sum())
    minutes = float((account_sessions["duration_minutes"] * account_sessions["sessions"]).sum())
    none = "no sessions in the period"
    out.put("sessions", count)
    durations, weights = account_sessions["duration_minutes"], account_sessions["sessions"]
    out.put("session_minutes_median", weighted_median(durations, weights), none)
    out.put("session_minutes_avg", minutes / count if count else None, none)
    out.put("session_users", users)
    out.put("sessions_per_user_avg", count / users if users else None, "no user had a session in the period")
    out.put("time_in_product_hours_per_user", minutes / 60.0 / users if users else None,
            "no user had a session in the period")
    return out
