"""Referral metrics (SPEC §3, from ``referrals``)."""
from __future__ import annotations

import pandas as pd

from .base import MetricSet, pct


def referrals_in(referrals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return referrals[(referrals["referred_at"] >= start) & (referrals["referred_at"] < end)]


def referral_rate_pct(in_period: pd.DataFrame, customers: set[str]) -> float | None:
    """100 · distinct referrers among customers active in P / customers_end (percent)."""
    referrers = set(in_period["referrer_account_id"]) & customers
    return pct(len(referrers), len(customers))


def referral_conversion_pct(in_period: pd.DataFrame) -> float | None:
    """100 · share of the period's referrals that converted (percent)."""
    return pct(in_period["converted"].astype(bool).sum(), len(in_period))


def referral_metrics(referrals: pd.DataFrame | None, customers: set[str], start: pd.Timestamp,
                     end: pd.Timestamp) -> MetricSet:
    """Every referral metric of SPEC §3 for the period [start, end); None: the source has no referrals table.

    referral_rate_pct       = 100 · customers active in P that referred someone in P / customers_end
    referrals               = # referrals made in P
    referral_conversion_pct = 100 · share of the referrals made in P that converted
    """
    if referrals is None:
        return MetricSet.table_missing("referrals")
    out = MetricSet()
    in_period = referrals_in(referrals, start, end)
    out.put("referral_rate_pct", referral_rate_pct(in_period, customers), "no customers active in the period")
    out.put("referrals", len(in_period))
    out.put("referral_conversion_pct", referral_conversion_pct(in_period), "no referrals in the period")
    return out
