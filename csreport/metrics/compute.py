"""Assemble every SPEC §3 metric of one period from a validated :class:`Dataset`."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..config import Config
from ..data.events import EngagementAggregates
from ..data.load import Dataset
from ..periods import Period
from . import engagement, health, onboarding, referrals, revenue, sessions, support, surveys
from .base import MetricSet
from .catalog import KEYS


@dataclass
class PeriodMetrics:
    """All metrics of one period, the per-customer health table and the MRR movements."""

    period: Period
    values: dict
    notes: dict
    health: pd.DataFrame
    movements: pd.DataFrame
    stats: dict = field(default_factory=dict)  # (n, variance) of survey metrics, for significance
    status: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The metrics.json layout of SPEC §5."""
        return {
            "period": str(self.period),
            "metrics": {key: self.values.get(key) for key in KEYS},
            "status": {key: self.status.get(key) for key in KEYS},
            "notes": {key: self.notes[key] for key in KEYS if key in self.notes},
        }


def compute_metrics(
    data: Dataset, period: Period, config: Config, aggregates: EngagementAggregates | None = None
) -> PeriodMetrics:
    """Compute every metric of ``period``. ``aggregates`` may cover many months (backfill); else it is queried."""
    tz = config.timezone
    start, end = period.start(tz), period.end(tz)
    result = MetricSet()
    matrix = revenue.mrr_matrix(data.revenue)
    moves = revenue.movements(matrix, period)
    result.update(revenue.revenue_metrics(matrix, period, config.gross_margin, moves))
    customers = revenue.active_accounts(matrix, period)

    month_events = None
    if data.events is not None:
        aggregates = aggregates or data.events.aggregates(period, period)
        month_events = aggregates.for_month(period)

    result.update(surveys.survey_metrics(data.surveys, start, end))
    result.update(support.support_metrics(data.tickets, start, end, config.sla_hours))
    result.update(engagement.engagement_metrics(month_events, customers, period.days))
    result.update(sessions.session_metrics(month_events and month_events.account_sessions,
                                           month_events and month_events.account_session_users))
    result.update(referrals.referral_metrics(data.referrals, customers, start, end))
    result.update(onboarding.onboarding_metrics(data.accounts, period))

    scores, missing = _health_table(data, period, config, customers, month_events, matrix)
    if len(missing) == len(health.COMPONENTS):
        summary = MetricSet()
        summary.unavailable(["health_avg", "health_green_pct", "health_amber_pct", "health_red_pct"],
                            "not available: no events, surveys, tickets or invoices table to score health from")
    else:
        summary = health.health_summary(scores)
    if missing and len(missing) < len(health.COMPONENTS) and len(scores):
        for key in summary.values:
            summary.notes[key] = f"computed without the {', '.join(missing)} component(s): their table is missing"
    result.update(summary)
    stats = surveys.survey_stats(data.surveys, start, end)
    return PeriodMetrics(period, result.values, result.notes, scores, moves, stats)


SegmentParts = dict[str, tuple[Dataset, "EngagementAggregates | None"]]


def split_segments(data: Dataset, aggregates: EngagementAggregates | None) -> SegmentParts:
    """The dataset (and event aggregates) of each segment; split once, reuse for many periods."""
    parts = {}
    for segment, accounts in data.accounts.groupby("segment")["account_id"]:
        ids = set(accounts)
        parts[str(segment)] = (data.subset(ids), aggregates.subset(ids) if aggregates is not None else None)
    return parts


def compute_segments(data: Dataset, period: Period, config: Config,
                     aggregates: EngagementAggregates | None = None,
                     parts: SegmentParts | None = None) -> dict[str, PeriodMetrics]:
    """Every metric per segment of the accounts table (SMB, Mid-Market, ... as the data holds them)."""
    if parts is None:
        if data.events is not None and aggregates is None:
            aggregates = data.events.aggregates(period, period)
        parts = split_segments(data, aggregates)
    return {name: compute_metrics(subset, period, config, sub_aggregates)
            for name, (subset, sub_aggregates) in parts.items()}


def _health_table(data: Dataset, period: Period, config: Config, customers: set[str], month_events,
                  matrix: pd.DataFrame):
    tz = config.timezone
    start, end = period.start(tz), period.end(tz)
    index = pd.Index(sorted(customers), name="account_id")
    parts: dict[str, pd.Series] = {}
    missing = []
    if month_events is not None:
        parts["usage"] = health.usage_component(month_events.account_days, index, period.days)
    else:
        missing.append("usage")
    if data.surveys is not None:
        parts["feedback"] = health.feedback_component(data.surveys, index, end)
    else:
        missing.append("feedback")
    if data.tickets is not None:
        parts["support"] = health.support_component(data.tickets, index, start, end, config.sla_hours)
    else:
        missing.append("support")
    if data.invoices is not None:
        parts["payment"] = health.payment_component(data.invoices, index, period.end_date)
    else:
        missing.append("payment")
    components = pd.DataFrame(parts, index=index)
    bands = config.health.bands
    scores = health.health_scores(components, config.health.weights.model_dump(), bands.green, bands.amber)
    accounts = data.accounts.set_index("account_id")
    mrr = revenue.mrr_by_account(matrix, period)
    scores.insert(0, "name", accounts["name"].reindex(index))
    scores.insert(1, "segment", accounts["segment"].reindex(index))
    scores.insert(2, "mrr", mrr.reindex(index, fill_value=0.0))
    return scores.reset_index(), missing
