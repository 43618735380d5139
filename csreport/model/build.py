"""Build the :class:`ReportModel` of a period: the one place where a report's numbers are decided.

Steps (every command and the notebook go through here):

1. the period's metrics for all customers and for each segment (``csreport.metrics``);
2. status against targets, with the target used (segment overrides included);
3. the previous month and the same month a year earlier, by ONE rule: the history store's
   value when it holds that period and metric, otherwise the value recomputed from the data.
   Both comparison months are always recomputed too, so a recorded value that the data no
   longer gives is reported as a *restatement* (old and new value);
4. 13-month trends of the revenue and survey metrics (same rule per month and metric);
5. the customers most at risk, a balanced sample of verbatim comments, the health mix,
   data quality, provenance and the settings a reader needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from .. import __version__
from ..benchmark.compare import delta, significance
from ..benchmark.history import ALL, History
from ..benchmark.targets import Targets, direction_of, status
from ..config import Config
from ..data import Dataset
from ..data.events import EngagementAggregates
from ..metrics import KEYS, PeriodMetrics, compute_metrics
from ..metrics.compute import SegmentParts, backtest_month, health_table, split_segments
from ..metrics.revenue import mrr_matrix, revenue_metrics
from ..metrics.surveys import nps_category, survey_metrics
from ..periods import Period
from .types import (
    AtRiskAccount,
    BandShare,
    Change,
    Comment,
    HealthRow,
    MetricValue,
    Provenance,
    ReportModel,
    ReportSettings,
    Restatement,
    Scope,
    SurveyStat,
    TableQuality,
    TargetInfo,
    Trend,
    ValueSource,
)

TREND_MONTHS = 13
# metrics with a 13-month trend: cheap to recompute from the small tables for months history lacks
TREND_KEYS = ("customers_end", "mrr_end", "logo_churn_rate_pct", "grr_pct", "nrr_pct", "grr_ttm_pct", "nrr_ttm_pct",
              "arpa", "nps", "nps_moe95", "nps_responses", "csat_pct", "csat_responses", "ces_avg", "ces_responses")
# recorded and recomputed values closer than this (relative) are the same number
SAME_VALUE_TOLERANCE = 1e-9

HistoryRows = dict[str, dict[str, tuple[float | None, int | None, float | None]]]  # period -> metric -> row


class Calculator:
    """Computes (and remembers) the metrics of any period, for all customers and per segment.

    A period's metrics read the events of the period itself and of its health backtest
    month L = P − h. Event aggregates are fetched from the engine once per contiguous run
    of such months and shared by the company and every segment.
    """

    def __init__(self, dataset: Dataset, config: Config, periods: list[Period] | None = None):
        self.dataset = dataset
        self.config = config
        self._runs: dict[tuple[Period, Period], EngagementAggregates | None] = {}
        self._parts: dict[tuple[Period, Period], SegmentParts] = {}
        self._company: dict[Period, PeriodMetrics] = {}
        self._segments: dict[Period, dict[str, PeriodMetrics]] = {}
        self._health: dict[Period, pd.DataFrame] = {}
        self.prefetch(periods or [])

    def prefetch(self, periods: list[Period]) -> None:
        """Aggregate the events every one of ``periods`` needs, one engine pass per contiguous run of months."""
        wanted = sorted((backtest_month(p, self.config), p) for p in periods if self.covers(p))
        runs: list[list[Period]] = []
        for first, last in wanted:
            if runs and first <= runs[-1][1].shift(1):
                runs[-1][1] = max(runs[-1][1], last)
            else:
                runs.append([first, last])
        for first, last in runs:
            self._fetch(first, last)

    def _fetch(self, first: Period, last: Period) -> tuple[Period, Period]:
        events = self.dataset.events
        self._runs[(first, last)] = events.aggregates(first, last) if events is not None else None
        return first, last

    def _run_of(self, period: Period) -> tuple[Period, Period]:
        lookback = backtest_month(period, self.config)
        for first, last in self._runs:
            if first <= lookback and period <= last:
                return first, last
        return self._fetch(lookback, period)

    def company(self, period: Period) -> PeriodMetrics:
        if period not in self._company:
            run = self._run_of(period)
            self._company[period] = compute_metrics(self.dataset, period, self.config, self._runs[run])
        return self._company[period]

    def segments(self, period: Period) -> dict[str, PeriodMetrics]:
        if period not in self._segments:
            run = self._run_of(period)
            if run not in self._parts:
                self._parts[run] = split_segments(self.dataset, self._runs[run])
            self._segments[period] = {name: compute_metrics(subset, period, self.config, aggregates, segment=name)
                                      for name, (subset, aggregates) in self._parts[run].items()}
        return self._segments[period]

    def health(self, period: Period) -> pd.DataFrame:
        """Every customer's health in ``period``: the company's table if its metrics were computed, else the
        health table alone (an account review needs 12 months of it, not 12 months of every metric)."""
        if period in self._company:
            return self._company[period].health
        if period not in self._health:
            self._health[period] = health_table(self.dataset, period, self.config, self.month_events(period))
        return self._health[period]

    def month_events(self, period: Period) -> EngagementAggregates | None:
        """The event aggregates of one month, from the run that holds it (None without an events table)."""
        aggregates = self._runs[self._run_of(period)]
        return None if aggregates is None else aggregates.for_month(period)

    def covers(self, period: Period) -> bool:
        """Whether the data reaches back to ``period`` (its first revenue month or later).

        Before that, "no revenue row = MRR 0" would turn *unknown* into zero customers.
        """
        revenue = self.dataset.revenue
        return len(revenue) > 0 and str(period) >= str(revenue["month"].min())

    def scope(self, period: Period, segment: str | None) -> PeriodMetrics | None:
        """The metrics of ``period`` for all customers or one segment; None before the data starts."""
        if not self.covers(period):
            return None
        return self.company(period) if segment is None else self.segments(period).get(segment)


@dataclass(frozen=True)
class _Past:
    """A metric in an earlier period: its value, the survey stats behind it, and where it came from."""

    value: float | None
    n: int | None
    variance: float | None
    source: ValueSource


def _past(key: str, held: dict[str, tuple] | None, computed: PeriodMetrics | None) -> _Past | None:
    """The ONE rule for an earlier period: history when it holds the metric, else the data."""
    if held is not None and key in held:
        value, n, variance = held[key]
        return _Past(value, n, variance, "history")
    if computed is None:
        return None
    value = computed.values.get(key)
    n, variance = computed.stats.get(key, (None, None))
    return _Past(value if not isinstance(value, dict) else None, n, variance, "data")


def _change(key: str, now: MetricValue, stats: tuple | None, previous: _Past | None,
            year_ago: _Past | None) -> Change:
    current = now if isinstance(now, (int, float)) else None
    n_now, var_now = stats or (None, None)
    return Change(
        previous=previous.value if previous else None,
        previous_from=previous.source if previous else None,
        year_ago=year_ago.value if year_ago else None,
        year_ago_from=year_ago.source if year_ago else None,
        mom_delta=delta(current, previous.value if previous else None),
        yoy_delta=delta(current, year_ago.value if year_ago else None),
        significant=significance(key, current, n_now, var_now, previous.value, previous.n, previous.variance)
        if previous else None,
    )


def _differs(recorded: float | None, recomputed: float | None) -> bool:
    if recorded is None or recomputed is None:
        return (recorded is None) != (recomputed is None)
    return abs(recorded - recomputed) > SAME_VALUE_TOLERANCE * max(1.0, abs(recorded), abs(recomputed))


def _restatements(period: Period, segment: str, held: dict[str, tuple] | None,
                  computed: PeriodMetrics | None) -> list[Restatement]:
    if not held or computed is None:
        return []
    out = []
    for key, value in computed.values.items():
        if isinstance(value, dict) or key not in held:
            continue
        if _differs(held[key][0], value):
            out.append(Restatement(period=str(period), metric=key, segment=segment, recorded=held[key][0],
                                   recomputed=value))
    return out


def _scope(metrics: PeriodMetrics, targets: Targets, segment: str | None, comparison: dict[str, Change]) -> Scope:
    # catalog order (the order of metrics.json), then any key the catalog does not list
    values = {key: metrics.values.get(key) for key in KEYS} | metrics.values
    found = {key: targets.lookup(key, segment) for key in values}
    return Scope(
        metrics=values,
        status={key: status(value, key, found[key]) for key, value in values.items()},
        notes=dict(metrics.notes),
        targets={key: TargetInfo(target=t.target, amber=t.amber, direction=direction_of(key, t), source=t.source)
                 for key, t in found.items() if t is not None},
        comparison=comparison,
        stats={key: SurveyStat(n=n, variance=var) for key, (n, var) in metrics.stats.items()},
    )


def _trends(dataset: Dataset, config: Config, period: Period, current: PeriodMetrics,
            history: HistoryRows) -> dict[str, Trend]:
    """TREND_KEYS for up to 13 months ending with ``period``; months before the revenue data are left out."""
    first_month = str(dataset.revenue["month"].min()) if len(dataset.revenue) else str(period)
    months = [p for p in period.shift(-(TREND_MONTHS - 1)).range_to(period) if str(p) >= first_month]
    matrix = None
    columns: dict[str, list[float | None]] = {key: [] for key in TREND_KEYS}
    sources: dict[str, list[ValueSource | None]] = {key: [] for key in TREND_KEYS}
    for month in months:
        held = history.get(str(month), {}) if month != period else {}
        computed: dict[str, Any] | None = dict(current.values) if month == period else None
        for key in TREND_KEYS:
            value: Any
            source: ValueSource
            if key in held:
                value, source = held[key][0], "history"
            else:
                if computed is None:  # revenue and survey metrics only: no events needed
                    matrix = mrr_matrix(dataset.revenue) if matrix is None else matrix
                    computed = revenue_metrics(matrix, month, config.gross_margin).values
                    tz = config.timezone
                    computed.update(survey_metrics(dataset.surveys, month.start(tz), month.end(tz)).values)
                value, source = computed.get(key), "data"
            columns[key].append(value)
            sources[key].append(source)
    labels = [str(m) for m in months]
    return {key: Trend(months=labels, values=columns[key], sources=sources[key]) for key in TREND_KEYS}


def _health_rows(health: pd.DataFrame) -> list[HealthRow]:
    def clean(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    fields = set(HealthRow.model_fields)
    return [HealthRow(**{k: clean(v) for k, v in row.items() if k in fields})
            for row in health.to_dict(orient="records")]


def at_risk_accounts(rows: list[HealthRow], limit: int) -> list[AtRiskAccount]:
    """The customers most at risk: lowest health first, larger MRR first on ties."""
    scored = [r for r in rows if r.health is not None and r.band is not None and r.weakest is not None]
    scored.sort(key=lambda r: (round(r.health or 0.0, 6), -r.mrr, r.account_id))
    return [AtRiskAccount(account_id=r.account_id, name=r.name, segment=r.segment, mrr=r.mrr, health=r.health or 0.0,
                          band=r.band or "red", weakest=r.weakest or "", weakest_score=getattr(r, r.weakest or "usage"))
            for r in scored[:limit]]


def comment_sample(dataset: Dataset, period: Period, tz: str, limit: int) -> list[Comment]:
    """Up to ``limit`` of the period's NPS comments, newest first, alternating detractor, promoter, passive."""
    surveys = dataset.surveys
    if surveys is None or "comment" not in surveys or limit == 0:
        return []
    rows = surveys[(surveys["survey"] == "nps") & surveys["comment"].notna()
                   & (surveys["responded_at"] >= period.start(tz)) & (surveys["responded_at"] < period.end(tz))]
    rows = rows.sort_values(["responded_at", "response_id"], ascending=[False, True])
    rows = rows.assign(category=nps_category(rows["score"])).drop_duplicates("comment")
    queues = [rows[rows["category"] == c].to_dict(orient="records") for c in ("detractor", "promoter", "passive")]
    names = dataset.accounts.set_index("account_id")["name"]
    picked: list[dict[str, Any]] = []
    while len(picked) < limit and any(queues):
        for queue in queues:
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return [Comment(account=str(names.get(r["account_id"], r["account_id"])), score=int(r["score"]),
                    category=r["category"], responded_on=r["responded_at"].strftime("%Y-%m-%d"), text=str(r["comment"]))
            for r in picked]


def _bands(rows: list[HealthRow]) -> dict[str, BandShare]:
    return {band: BandShare(customers=sum(1 for r in rows if r.band == band),
                            mrr=float(sum(r.mrr for r in rows if r.band == band)))
            for band in ("green", "amber", "red")}


def _quality(dataset: Dataset) -> dict[str, TableQuality]:
    return {name: TableQuality(table=q.table, location=q.location, rows=q.rows, rejected=q.rejected,
                               problems=list(q.problems), rejects_file=q.rejects_file)
            for name, q in dataset.quality.items()}


def _settings(config: Config) -> ReportSettings:
    return ReportSettings(company=config.report.company, title=config.report.title, paper=config.report.paper,
                          timezone=config.timezone, sla_hours=config.sla_hours, gross_margin=config.gross_margin,
                          health_weights=config.health.weights.model_dump(),
                          health_bands=config.health.bands.model_dump())


@dataclass
class ModelOptions:
    """What to build beyond the period's own metrics. ``csreport backfill`` records values only."""

    comparisons: bool = True
    trends: bool = True
    details: bool = True  # at-risk list, comments, health rows
    generated_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))


def build_model(dataset: Dataset, period: Period, config: Config, targets: Targets, history: History | None,
                calculator: Calculator | None = None, options: ModelOptions | None = None) -> ReportModel:
    """The report model of ``period`` (see the module docstring for what it holds and why)."""
    options = options or ModelOptions()
    calc = calculator or Calculator(dataset, config, [period, period.previous, period.shift(-12)]
                                    if options.comparisons else [period])
    current = calc.company(period)
    segments = calc.segments(period)
    previous, year_ago = period.previous, period.shift(-12)

    trend_periods = [str(p) for p in period.shift(-(TREND_MONTHS - 1)).range_to(period.previous)]
    recorded = history.read_scopes(trend_periods) if history is not None and options.comparisons else {}
    restatements: list[Restatement] = []

    def compare(metrics: PeriodMetrics, segment: str | None) -> dict[str, Change]:
        if not options.comparisons:
            return {}
        scope_rows = recorded.get(segment or ALL, {})
        held_prev, held_year = scope_rows.get(str(previous)), scope_rows.get(str(year_ago))
        data_prev, data_year = calc.scope(previous, segment), calc.scope(year_ago, segment)
        restatements.extend(_restatements(previous, segment or ALL, held_prev, data_prev))
        restatements.extend(_restatements(year_ago, segment or ALL, held_year, data_year))
        return {key: _change(key, value, metrics.stats.get(key), _past(key, held_prev, data_prev),
                             _past(key, held_year, data_year))
                for key, value in metrics.values.items() if not isinstance(value, dict)}

    company = _scope(current, targets, None, compare(current, None))
    segment_scopes = {name: _scope(seg, targets, name, compare(seg, name)) for name, seg in segments.items()}
    rows = _health_rows(current.health) if options.details else []
    tz = config.timezone
    return ReportModel(
        **company.model_dump(),
        period=str(period),
        previous_period=str(previous),
        segments=segment_scopes,
        trends=_trends(dataset, config, period, current, recorded.get(ALL, {})) if options.trends else {},
        restatements=restatements,
        at_risk=at_risk_accounts(rows, config.report.at_risk_shown) if options.details else [],
        comments=comment_sample(dataset, period, tz, config.report.comments_shown) if options.details else [],
        health_bands=_bands(rows),
        data_quality=_quality(dataset),
        provenance=Provenance(source=dataset.source, source_kind=dataset.source_kind, fingerprint=dataset.fingerprint,
                              csreport_version=__version__, generated_at=options.generated_at, timezone=tz),
        settings=_settings(config),
        health=rows,
    )


def record(model: ReportModel, history: History) -> int:
    """Upsert the model's period (all customers and every segment) into the history store."""
    scopes: dict[str, Scope] = {ALL: model} | dict(model.segments)
    values = {name: dict(scope.metrics) for name, scope in scopes.items()}
    stats = {name: {k: (s.n, s.variance) for k, s in scope.stats.items()} for name, scope in scopes.items()}
    return history.write_period(model.period, values, stats, model.provenance.fingerprint)
