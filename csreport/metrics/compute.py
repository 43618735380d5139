"""Assemble every SPEC §3 metric of one period from a validated :class:`Dataset`."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from ..config import Config
from ..data.events import EngagementAggregates
from ..data.load import Dataset
from ..memo import remembered
from ..periods import Period
from . import backtest, cohorts, custom, engagement, health, onboarding, referrals, revenue, sessions, support, surveys
from .base import MetricSet, in_set, positions_in
from .catalog import KEYS, keys_of

*_others, _last = health.COMPONENT_TABLES.values()
NO_HEALTH = f"not available: no {', '.join(_others)} or {_last} table to score health from"


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
    # the health backtest's population: health table of L = P − h months plus 'churned' (not active in P)
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json(self) -> dict:
        """The metrics.json layout of SPEC §5."""
        return {
            "period": str(self.period),
            "metrics": {key: self.values.get(key) for key in KEYS},
            "status": {key: self.status.get(key) for key in KEYS},
            "notes": {key: self.notes[key] for key in KEYS if key in self.notes},
        }


def backtest_month(period: Period, config: Config) -> Period:
    """L = P − h months, h = config health.backtest_months: the month the health backtest scores."""
    return period.shift(-config.health.backtest_months)


def with_month(dataset: Dataset, aggregates: EngagementAggregates, month: Period) -> EngagementAggregates:
    """``aggregates`` plus those of ``month``, queried when they hold no row of it.

    Aggregates hold whole months, so one row of ``month`` proves it is there. Without one it may
    lie outside the months they were made for (a caller that asked for P-1 … P only), so it is
    queried rather than read as "no events".
    """
    if dataset.events is None or (aggregates.account_months["month"] == str(month)).any():
        return aggregates
    return aggregates.concat(dataset.events.aggregates(month, month))


def event_aggregates(dataset: Dataset, period: Period, config: Config,
                     aggregates: EngagementAggregates | None = None) -> EngagementAggregates | None:
    """The event aggregates :func:`compute_metrics` reads: P's (``aggregates``, which must hold P, or a
    query) and the backtest month L's. Two one-month scans, not one of L … P: the months between
    are never read. None without an events table."""
    if dataset.events is None:
        return None
    if aggregates is None:
        aggregates = dataset.events.aggregates(period, period)
    return with_month(dataset, aggregates, backtest_month(period, config))


ALL_CUSTOMERS = "all customers"


def segment_scope(segment: str, accounts: str = ALL_CUSTOMERS) -> str:
    """How messages name one segment of ``accounts`` (the company's, or a book's)."""
    return f"segment {segment!r}" + ("" if accounts == ALL_CUSTOMERS else f" of {accounts}")


def compute_metrics(
    dataset: Dataset, period: Period, config: Config, aggregates: EngagementAggregates | None = None,
    scope_label: str = ALL_CUSTOMERS, company: PeriodMetrics | None = None,
    lookback_health: pd.DataFrame | None = None,
) -> PeriodMetrics:
    """Compute every metric of ``period``: the built-ins of SPEC §3, then the company's own (config).

    ``aggregates`` may cover many months (backfill) and must hold P; without them P is queried.
    The health backtest month L is read from them, or queried when they hold none of it
    (:func:`with_month`); :func:`event_aggregates` prepares both for many calls (segments).
    ``scope_label`` says whose accounts ``dataset`` holds ("segment 'SMB'", "the book of csm 'Kenji Sato'"), for
    the error message of a failing company metric.
    ``company``: the company's metrics of the same period, when ``dataset`` is a subset of accounts of
    the company's dataset (a segment): health is scored per account, so the segment's health and
    backtest tables are the company's rows of its customers, taken rather than scored again.
    ``lookback_health``: the company's health table of L (its metrics' ``health``) when computed over the
    same revenue rows as P's (no account left out between L and P): the backtest scores the same table.
    """
    tz = config.timezone
    start, end = period.start(tz), period.end(tz)
    dataset = dataset.revenue_as_of(period)  # accounts with rejected revenue rows in P's months are left out
    result = MetricSet()
    matrix = revenue.mrr_matrix(dataset.revenue)
    moves = revenue.movements(matrix, period)
    result.update(revenue.revenue_metrics(matrix, period, config.gross_margin, moves))
    result.update(cohorts.cohort_metrics(matrix, period))
    customers = revenue.active_accounts(matrix, period)
    lookback = backtest_month(period, config)
    past_customers = revenue.active_accounts(matrix, lookback)

    this_month: EngagementAggregates | None = None
    past_month: EngagementAggregates | None = None
    if dataset.events is not None:
        if aggregates is None:
            aggregates = dataset.events.aggregates(period, period)
        if past_customers:  # L's events matter only when someone was a customer then
            aggregates = with_month(dataset, aggregates, lookback)
        this_month, past_month = aggregates.for_month(period), aggregates.for_month(lookback)

    result.update(surveys.survey_metrics(dataset.surveys, start, end))
    result.update(support.support_metrics(dataset.tickets, start, end, config.sla_hours))
    if this_month is None:
        result.update(MetricSet.table_missing("events"))
    else:
        result.update(engagement.engagement_metrics(this_month, customers, period.days))
        result.update(sessions.session_metrics(this_month.account_sessions, this_month.account_session_users))
    result.update(referrals.referral_metrics(dataset.referrals, customers, start, end))
    result.update(onboarding.onboarding_metrics(dataset.accounts, period))

    if company is None:
        scores, missing = _health_table(dataset, period, config, customers, this_month, matrix)
        if lookback_health is None:
            past, _ = _health_table(dataset, lookback, config, past_customers, past_month, matrix)
        else:
            past = lookback_health.copy()
        past["churned"] = backtest.churned_by(past["account_id"], customers)
    else:  # an account's churn is the same seen from the company or its segment
        scores, missing = rows_of(company.health, customers), _missing_components(dataset, this_month)
        past = rows_of(company.backtest, past_customers)
    if len(missing) == len(health.COMPONENTS):
        result.unavailable(keys_of("health"), NO_HEALTH)  # the health scores and their backtest
    else:
        result.update(_noting_missing(health.health_summary(scores), missing))
        result.update(_noting_missing(backtest.backtest_metrics(past, lookback, period), missing))
    result.update(custom.compute_custom(config.custom_metrics, dataset, period, tz, scope_label))
    stats = surveys.survey_stats(dataset.surveys, start, end)
    return PeriodMetrics(period, result.values, result.notes, scores, moves, stats, backtest=past)


def _noting_missing(metrics: MetricSet, missing: list[str]) -> MetricSet:
    """Say on every health value that was computed without some component, and why."""
    if missing:
        for key, value in metrics.values.items():
            if value is not None:  # a null keeps its own reason
                metrics.notes[key] = f"computed without the {', '.join(missing)} component(s): their table is missing"
    return metrics


SegmentParts = dict[str, tuple[Dataset, "EngagementAggregates | None"]]


def split_segments(dataset: Dataset, aggregates: EngagementAggregates | None) -> SegmentParts:
    """The dataset (and event aggregates) of each segment; split once, reuse for many periods."""
    members = {str(segment): set(accounts) for segment, accounts in dataset.accounts.groupby("segment")["account_id"]}
    shares = split_aggregates(aggregates, members) if aggregates is not None else {}
    return {segment: (dataset.subset(ids), shares.get(segment)) for segment, ids in members.items()}


def split_aggregates(aggregates: EngagementAggregates,
                     members: dict[str, set[str]]) -> dict[str, EngagementAggregates]:
    """Each group's share of ``aggregates`` (the rows of its accounts, in their order): what
    ``aggregates.subset(ids)`` gives for each group, for groups of disjoint accounts (segments).

    One pass per frame: every row's group is looked up once and the frame is split by it, rather
    than a membership test of every row for every group (the aggregates of several months hold
    ~10^5 rows per frame at scale 1).
    """
    groups = list(members)
    accounts = [account for ids in members.values() for account in ids]
    group_at = np.array([i for i, ids in enumerate(members.values()) for _ in ids] + [-1], dtype=np.int64)
    split: dict[str, dict[str, pd.DataFrame]] = {group: {} for group in groups}
    for column in fields(aggregates):
        frame: pd.DataFrame = getattr(aggregates, column.name)
        group = group_at[positions_in(frame["account_id"], accounts)]  # position -1 (unknown account): group -1
        for i, name in enumerate(groups):
            split[name][column.name] = frame.take(np.flatnonzero(group == i)).reset_index(drop=True)
    return {group: EngagementAggregates(**frames) for group, frames in split.items()}


def compute_segments(dataset: Dataset, period: Period, config: Config,
                     aggregates: EngagementAggregates | None = None,
                     parts: SegmentParts | None = None) -> dict[str, PeriodMetrics]:
    """Every metric per segment of the accounts table (SMB, Mid-Market, ... as the data holds them)."""
    if parts is None:
        parts = split_segments(dataset, event_aggregates(dataset, period, config, aggregates))
    return {name: compute_metrics(subset, period, config, sub_aggregates, scope_label=segment_scope(name))
            for name, (subset, sub_aggregates) in parts.items()}


def rows_of(table: pd.DataFrame, accounts: set[str]) -> pd.DataFrame:
    """The rows of a per-account table (health, backtest) whose account_id is in ``accounts``, in order."""
    return table[in_set(table["account_id"], accounts)].reset_index(drop=True)


def _missing_components(dataset: Dataset, month_events: EngagementAggregates | None) -> list[str]:
    """The health components whose table the data lacks (events: ``month_events`` is None)."""
    present = {"usage": month_events is not None, "feedback": dataset.surveys is not None,
               "support": dataset.tickets is not None, "payment": dataset.invoices is not None}
    return [c for c in health.COMPONENTS if not present[c]]


def _health_table(dataset: Dataset, period: Period, config: Config, customers: set[str],
                  month_events: EngagementAggregates | None, matrix: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    tz = config.timezone
    start, end = period.start(tz), period.end(tz)
    index = pd.Index(sorted(customers), name="account_id")
    parts: dict[str, pd.Series] = {}
    missing = _missing_components(dataset, month_events)
    if month_events is not None:
        parts["usage"] = health.usage_component(month_events.account_days, index, period.days)
    if dataset.surveys is not None:
        parts["feedback"] = health.feedback_component(dataset.surveys, index, end)
    if dataset.tickets is not None:
        parts["support"] = health.support_component(dataset.tickets, index, start, end, config.sla_hours)
    if dataset.invoices is not None:
        parts["payment"] = health.payment_component(dataset.invoices, index, period.end_date)
    components = pd.DataFrame(parts, index=index)
    bands = config.health.bands
    scores = health.health_scores(components, config.health.weights.model_dump(), bands.green, bands.amber)
    # by id once per accounts frame: every health table of a report (P, P-1, P-12 and their backtest months) reads it
    accounts = remembered(dataset.accounts, "by_account_id", lambda: dataset.accounts.set_index("account_id"))
    mrr = revenue.mrr_by_account(matrix, period)
    scores.insert(0, "name", accounts["name"].reindex(index))
    scores.insert(1, "segment", accounts["segment"].reindex(index))
    if "csm" in accounts:  # the optional owner column: the at-risk list names who to call
        scores.insert(2, "csm", accounts["csm"].reindex(index))
    scores.insert(3 if "csm" in scores else 2, "mrr", mrr.reindex(index, fill_value=0.0))
    return scores.reset_index(), missing


def health_table(data: Dataset, period: Period, config: Config,
                 month_events: EngagementAggregates | None) -> pd.DataFrame:
    """Every customer's health in ``period`` with its components, band and weakest component (health.csv's rows),
    without the period's other metrics; ``month_events`` is the month's slice of the aggregates."""
    matrix = revenue.mrr_matrix(data.revenue)
    scores, _ = _health_table(data, period, config, revenue.active_accounts(matrix, period), month_events, matrix)
    return scores
