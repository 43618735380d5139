"""Per-customer health scores (SPEC §3): four components on 0–100, weighted, banded.

  usage    = 100 · days in P with ≥ 1 event of the account / days in P
  feedback = latest NPS answer in [end(P) − 365 d, end(P)) (ties: the lower score):
             promoter 100, passive 50, detractor 0; no answer 50
  support  = 100 · share of the account's tickets created in P that met the SLA
             (the sla_met_pct rule); no counted ticket 100
  payment  = 100 · share of invoices due in [end(P) − 90 d, end(P)) paid on or before
             the due date (and before end(P)); no invoice 100
  health   = Σ weight · component; band on round(health, 6): green ≥ 75, amber ≥ 50, else red

A component whose table is missing from the data source is left out and the
remaining weights are rescaled to add up to 1 (the note says so).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..memo import remembered
from .base import MetricSet, pct
from .support import created_in, created_outcome
from .surveys import nps_category, of_type

# the table each component is scored from; without it the component is left out
COMPONENT_TABLES = {"usage": "events", "feedback": "surveys", "support": "tickets", "payment": "invoices"}
COMPONENTS = tuple(COMPONENT_TABLES)
BANDS = ("green", "amber", "red")  # best first
FEEDBACK_POINTS = {"promoter": 100.0, "passive": 50.0, "detractor": 0.0}
NO_FEEDBACK_POINTS = 50.0


def usage_component(account_days: pd.DataFrame, customers: pd.Index, days_in_period: int) -> pd.Series:
    active_days = account_days.groupby("account_id")["day"].nunique()
    return 100.0 * active_days.reindex(customers, fill_value=0) / days_in_period


def feedback_component(surveys: pd.DataFrame, customers: pd.Index, end: pd.Timestamp) -> pd.Series:
    # latest answer first; on equal times the lower score first, then keep the first per account. The
    # sort is stable, so sorting every NPS answer once (remembered per frame) and then taking a window
    # keeps the order that sorting the window would give: one sort for every month scored
    nps = remembered(surveys, "nps_latest_first", lambda: of_type(surveys, "nps").sort_values(
        ["responded_at", "score"], ascending=[False, True]))
    window = nps[(nps["responded_at"] >= end - pd.Timedelta(days=365)) & (nps["responded_at"] < end)]
    latest = window.drop_duplicates("account_id")
    score = latest.set_index("account_id")["score"].astype(int)
    value = nps_category(score).map(FEEDBACK_POINTS).astype(float)
    return value.reindex(customers, fill_value=NO_FEEDBACK_POINTS)


def support_component(tickets: pd.DataFrame, customers: pd.Index, start: pd.Timestamp, end: pd.Timestamp,
                      sla_hours: float) -> pd.Series:
    created = created_in(tickets, start, end)
    outcome = created_outcome(tickets, start, end, sla_hours)
    counted = created.assign(met=outcome)[outcome.notna()]
    share = counted.groupby("account_id")["met"].mean().astype(float) * 100.0
    return share.reindex(customers, fill_value=100.0)


def payment_component(invoices: pd.DataFrame, customers: pd.Index, end_date: pd.Timestamp) -> pd.Series:
    due = invoices[(invoices["due_date"] >= end_date - pd.Timedelta(days=90)) & (invoices["due_date"] < end_date)]
    on_time = due["paid_date"].notna() & (due["paid_date"] <= due["due_date"]) & (due["paid_date"] < end_date)
    share = due.assign(on_time=on_time).groupby("account_id")["on_time"].mean().astype(float) * 100.0
    return share.reindex(customers, fill_value=100.0)


def band(health: pd.Series, green: float, amber: float) -> pd.Series:
    """green ≥ green, amber ≥ amber, else red, on health rounded to 6 decimals."""
    rounded = health.round(6).to_numpy(dtype=float)  # a missing health compares False: red, as before
    labels = np.select([rounded >= green, rounded >= amber], ["green", "amber"], "red")
    return pd.Series(labels.astype(object), index=health.index, dtype=object)


def contributions(components: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Each present component's points in the health score: component · weight / Σ present weights.

    Health is the row sum. Only the components present as columns count, so a missing table
    rescales the others to add up to 100 points.
    """
    present = [c for c in COMPONENTS if c in components]
    total = sum(weights[c] for c in present)
    return pd.DataFrame({c: components[c] * (weights[c] / total) for c in present}, index=components.index)


def weakest_components(scores: dict[str, float | None], weights: dict[str, float]) -> list[str]:
    """Every component tied for the lowest score (compared at 6 decimals), heaviest weight first.

    The first is the ``weakest`` column of :func:`health_scores` (ties go to the heavier weight).
    """
    present = {c: round(v, 6) for c, v in scores.items() if c in COMPONENTS and v is not None}
    if not present:
        return []
    low = min(present.values())
    return sorted((c for c, v in present.items() if v == low), key=lambda c: (-weights[c], COMPONENTS.index(c)))


def health_scores(components: pd.DataFrame, weights: dict[str, float], green: float, amber: float) -> pd.DataFrame:
    """Add health, band and weakest component to a frame of component columns (one row per customer).

    Only the components present as columns count; their weights are rescaled to sum to 1.
    """
    present = [c for c in COMPONENTS if c in components]
    scores = components.copy()
    if not present:  # no table to score from: no health, rather than a made-up 0
        return scores.assign(health=float("nan"), band=None, weakest=None)
    scores["health"] = contributions(components, weights).sum(axis=1)
    scores["band"] = band(scores["health"], green, amber)
    # the weakest component explains a low score; ties go to the heavier-weighted one
    ranked = sorted(present, key=lambda c: -weights[c])
    scores["weakest"] = scores[ranked].round(6).idxmin(axis=1)
    return scores


def health_summary(scores: pd.DataFrame) -> MetricSet:
    """The health keys of SPEC §3 from the per-customer scores of :func:`health_scores`.

    health_avg       = mean health of the customers active in P; health = Σ weight · component over usage,
                       feedback, support and payment (each 0–100)
    health_green_pct = 100 · share of customers with health at or above the green band
    health_amber_pct = 100 · share of customers with health at or above the amber band and below green
    health_red_pct   = 100 · share of customers with health below the amber band
    """
    out = MetricSet()
    n = len(scores)
    none = "no customers active in the period"
    out.put("health_avg", float(scores["health"].mean()) if n else None, none)
    for colour in BANDS:
        out.put(f"health_{colour}_pct", pct((scores["band"] == colour).sum(), n), none)
    return out
