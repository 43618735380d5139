"""Onboarding metrics (SPEC §3, from ``accounts``: signup_date and onboarded_at, both dates)."""
from __future__ import annotations

import pandas as pd

from ..periods import Period
from .base import MetricSet, median, pct
from .catalog import keys_of, not_available

WINDOW = pd.Timedelta(days=30)


def onboarding_completion_pct(accounts: pd.DataFrame, period: Period) -> float | None:
    """100 · share of accounts signed up in [start(P) − 30 d, end(P) − 30 d) onboarded within 30 days.

    Onboarded within 30 days: onboarded_at <= signup_date + 30 days. Such a date is
    always before end(P), so the as-of rule holds.
    """
    signup, onboarded = accounts["signup_date"], accounts["onboarded_at"]
    cohort = (signup >= period.start_date - WINDOW) & (signup < period.end_date - WINDOW)
    done = cohort & onboarded.notna() & (onboarded <= signup + WINDOW)
    return pct(done.sum(), int(cohort.sum()))


def onboarding_median_days(accounts: pd.DataFrame, period: Period) -> float | None:
    """Median of onboarded_at − signup_date (days) over accounts onboarded in P."""
    onboarded = accounts["onboarded_at"]
    in_period = (onboarded >= period.start_date) & (onboarded < period.end_date)  # the two columns read, not every one
    return median((onboarded[in_period] - accounts["signup_date"][in_period]).dt.days.astype(float))


def onboarding_metrics(accounts: pd.DataFrame, period: Period) -> MetricSet:
    """Both onboarding metrics of SPEC §3; both need the optional column accounts.onboarded_at.

    onboarding_completion_pct = 100 · share of the accounts that signed up in [start(P) − 30 days,
                                end(P) − 30 days) and were onboarded within 30 days of signing up
    onboarding_median_days    = median days from signup to onboarding, over accounts onboarded in P
    """
    out = MetricSet()
    if "onboarded_at" not in accounts:
        out.unavailable(keys_of("onboarding"), not_available("accounts", "onboarded_at"))
        return out
    out.put("onboarding_completion_pct", onboarding_completion_pct(accounts, period),
            "no account signed up in the 30-day-shifted window of the period")
    out.put("onboarding_median_days", onboarding_median_days(accounts, period),
            "no account was onboarded in the period")
    return out
