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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pydantic import TypeAdapter

from .. import __version__
from ..benchmark.compare import delta, significance
from ..benchmark.history import ALL, History
from ..benchmark.targets import Targets, direction_of, status
from ..config import Config
from ..data import Dataset
from ..data.events import EngagementAggregates, runs
from ..metrics import BY_KEY, KEYS, PeriodMetrics, compute_metrics
from ..metrics.catalog import not_available, why_unavailable
from ..metrics.cohorts import window as cohort_window
from ..metrics.compute import (
    ALL_CUSTOMERS,
    SegmentParts,
    backtest_month,
    health_table,
    rows_of,
    segment_scope,
    split_segments,
)
from ..metrics.health import BANDS, COMPONENT_TABLES, COMPONENTS, contributions, weakest_components
from ..metrics.revenue import mrr_matrix, revenue_metrics
from ..metrics.surveys import nps_category, survey_metrics
from ..periods import Period
from ..text import COMMENT_CHARS, NAME_CHARS, clip
from .records import record  # noqa: F401  (re-exported: csreport.model.build.record)
from .types import (
    AtRiskAccount,
    BandChurn,
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
# the 95 % normal quantile of SPEC §3 (nps_moe95 = 196 · ..., i.e. 1.96 in share units · 100)
Z95_PCT = 196.0
# the table behind each health component, for saying why one was left out

HistoryRows = dict[str, dict[str, tuple[float | None, int | None, float | None]]]  # period -> metric -> row


class Calculator:
    """Computes (and remembers) the metrics of any period, for all customers and per segment.

    A period P's metrics read every event aggregate of P (sessions included) and, for the health
    backtest, the users of month L = P − h. The Calculator fetches exactly those months from the
    engine, in passes over contiguous runs of months of each kind: P's months with sessions, the
    L months not already fetched without (the sessions window is the costly query, and the
    backtest never reads it). Months no metric reads (P-2 … P-11 for a report) are never scanned.
    Everything fetched is kept in one set of aggregates, shared by the company and every segment.

    ``reported``: the months being reported, always aggregated from the events. Every other month
    (the comparisons, the backtest month, an account's history) may come from what an earlier run
    computed over the same unchanged events files (:class:`~csreport.data.events.MonthMemory`), so a
    month's report pays for its month. None (a backfill): every month is aggregated from the events,
    and none is remembered.

    ``scope_label`` names whose accounts ``dataset`` holds, in the messages of a failing company metric: all
    customers, or a book's ("the book of csm 'Kenji Sato'").
    """

    def __init__(self, dataset: Dataset, config: Config, periods: list[Period] | None = None,
                 reported: list[Period] | None = None, scope_label: str = ALL_CUSTOMERS):
        self.dataset = without_empty_events(dataset)
        self.config = config
        self.scope_label = scope_label
        self._reported = None if reported is None else set(reported)
        self._events: EngagementAggregates | None = None  # every month fetched so far
        self._full: set[Period] = set()  # months with every aggregate, sessions included
        self._usage: set[Period] = set()  # months with users and features, no sessions (backtest months)
        self._parts: SegmentParts | None = None  # the segments' share of _events (reset when it grows)
        self._company: dict[Period, PeriodMetrics] = {}
        self._segments: dict[Period, dict[str, PeriodMetrics]] = {}
        self._health: dict[Period, pd.DataFrame] = {}
        self.prefetch(periods or [])

    def prefetch(self, periods: list[Period]) -> None:
        """Aggregate the events every one of ``periods`` (those the data covers) needs, ahead of time."""
        covered = [p for p in periods if self.covers(p)]
        self._ensure(set(covered), {backtest_month(p, self.config) for p in covered})

    def _ensure(self, full: set[Period], usage: set[Period]) -> None:
        """Fetch the months of ``full`` with every aggregate and those of ``usage`` without sessions, unless held."""
        events = self.dataset.events
        for wanted, sessions in ((full, True), (usage, False)):
            # after the full months are in: a month wanted both ways is fetched once, in full
            months = wanted - self._full - (set() if sessions else self._usage)
            if not months:
                continue
            if events is not None:
                reusable = set() if self._reported is None else months - self._reported
                for first, last in runs(sorted(months)):
                    fetched = events.aggregates(first, last, sessions=sessions, reusable=reusable,
                                                remember=self._reported is not None)
                    if self._events is None:
                        self._events = fetched
                    else:  # a usage month fetched again in full replaces its rows
                        run = {str(m) for m in first.range_to(last)}
                        self._events = self._events.without_months(run).concat(fetched)
                self._parts = None
            (self._full if sessions else self._usage).update(months)

    def company(self, period: Period) -> PeriodMetrics:
        if period not in self._company:
            lookback = backtest_month(period, self.config)
            self._ensure({period}, {lookback})
            # a backfill computed L = P − h as a period of its own: its health table is the backtest's, when the
            # same revenue rows were read (excluded accounts only grow with the month: none joined since L)
            known = self._company.get(lookback)
            same_rows = self.dataset.excluded_in(lookback) == self.dataset.excluded_in(period)
            lookback_health = known.health if known is not None and same_rows else None
            self._company[period] = compute_metrics(self.dataset, period, self.config, self._events,
                                                    scope_label=self.scope_label, lookback_health=lookback_health)
        return self._company[period]

    def segments(self, period: Period) -> dict[str, PeriodMetrics]:
        if period not in self._segments:
            company = self.company(period)  # its per-account health rows are the segments' too
            if self._parts is None:
                self._parts = split_segments(self.dataset, self._events)
            self._segments[period] = {
                name: compute_metrics(subset, period, self.config, aggregates,
                                      scope_label=segment_scope(name, self.scope_label), company=company)
                for name, (subset, aggregates) in self._parts.items()}
        return self._segments[period]

    def computed(self) -> dict[Period, PeriodMetrics]:
        """The company's metrics of every period computed so far (callers only read them)."""
        return dict(self._company)

    def health(self, period: Period) -> pd.DataFrame:
        """Every customer's health in ``period``: the company's table if its metrics were computed, else the
        health table alone (an account review needs 12 months of it, not 12 months of every metric)."""
        if period in self._company:
            return self._company[period].health
        if period not in self._health:
            self._health[period] = health_table(self.dataset, period, self.config,
                                                self.month_events(period, sessions=False))
        return self._health[period]

    def month_events(self, period: Period, sessions: bool = True) -> EngagementAggregates | None:
        """The event aggregates of one month (None without an events table); ``sessions=False``: the
        session frames may be empty (for callers that read users and features only)."""
        self._ensure({period} if sessions else set(), set() if sessions else {period})
        return None if self._events is None else self._events.for_month(period)

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


def without_empty_events(dataset: Dataset) -> Dataset:
    """An events table with no rows is treated as no events table.

    Otherwise every customer's usage component would be 0: most customers would turn red for a
    missing extract, silently. Left out, the health score is computed from the other components
    and the report says so (``ReportModel.health_missing``).
    """
    if dataset.events is not None and dataset.events.rows == 0:
        return replace(dataset, events=None)
    return dataset


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
        yoy_significant=significance(key, current, n_now, var_now, year_ago.value, year_ago.n, year_ago.variance)
        if year_ago else None,
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


EMPTY_EVENTS = not_available("events", empty=True)


def _scope(metrics: PeriodMetrics, targets: Targets, segment: str | None, comparison: dict[str, Change],
           events_empty: bool = False) -> Scope:
    # catalog order (the order of metrics.json), then any key the catalog does not list
    values = {key: metrics.values.get(key) for key in KEYS} | metrics.values
    found = {key: targets.lookup(key, segment) for key in values}
    notes = dict(metrics.notes)
    if events_empty:  # computed as if there were no events table (see without_empty_events): say which it is
        notes |= {key: EMPTY_EVENTS for key in notes if key in BY_KEY and BY_KEY[key].table == "events"}
    return Scope(
        metrics=values,
        status={key: status(value, key, found[key]) for key, value in values.items()},
        notes=notes,
        targets={key: TargetInfo(target=t.target, amber=t.amber, direction=direction_of(key, t), source=t.source)
                 for key, t in found.items() if t is not None},
        comparison=comparison,
        stats={key: SurveyStat(n=n, variance=var) for key, (n, var) in metrics.stats.items()},
    )


def _trends(dataset: Dataset, config: Config, period: Period, current: PeriodMetrics,
            history: HistoryRows, known: dict[Period, PeriodMetrics] | None = None) -> dict[str, Trend]:
    """TREND_KEYS for up to 13 months ending with ``period``; months before the revenue data are left out.

    ``known``: the company's metrics of months already computed (the comparison months): their values
    are the ones recomputed here (the same revenue and survey functions on the same frames), so taken.
    """
    known = {**(known or {}), period: current}
    first_month = str(dataset.revenue["month"].min()) if len(dataset.revenue) else str(period)
    months = [p for p in period.shift(-(TREND_MONTHS - 1)).range_to(period) if str(p) >= first_month]
    matrix = None
    columns: dict[str, list[float | None]] = {key: [] for key in TREND_KEYS}
    sources: dict[str, list[ValueSource | None]] = {key: [] for key in TREND_KEYS}
    for month in months:
        held = history.get(str(month), {}) if month != period else {}
        computed: dict[str, Any] | None = dict(known[month].values) if month in known else None
        for key in TREND_KEYS:
            value: Any
            source: ValueSource
            if key in held:
                value, source = held[key][0], "history"
            else:
                if computed is None:  # revenue and survey metrics only: no events needed
                    if dataset.excluded_in(month):  # left-out accounts differ by month: a matrix of its own
                        matrix = mrr_matrix(dataset.revenue_as_of(month).revenue)
                    else:
                        matrix = mrr_matrix(dataset.revenue) if matrix is None else matrix
                    computed = revenue_metrics(matrix, month, config.gross_margin).values
                    tz = config.timezone
                    computed.update(survey_metrics(dataset.surveys, month.start(tz), month.end(tz)).values)
                value, source = computed.get(key), "data"
            columns[key].append(value)
            sources[key].append(source)
    labels = [str(m) for m in months]
    margins = {"nps": columns["nps_moe95"],
               "csat_pct": [csat_moe95(p, n) for p, n in zip(columns["csat_pct"], columns["csat_responses"],
                                                             strict=True)]}
    return {key: Trend(months=labels, values=columns[key], sources=sources[key], moe95=margins.get(key, []))
            for key in TREND_KEYS}


def csat_moe95(csat_pct: float | None, responses: float | None) -> float | None:
    """95 % margin of error of a CSAT share in percentage points: 196 · sqrt(p(1 − p) / n), p = csat_pct / 100."""
    if csat_pct is None or not responses:
        return None
    p = csat_pct / 100.0
    return Z95_PCT * math.sqrt(max(p * (1.0 - p), 0.0) / responses)


# validates a whole list of rows in one call into pydantic's core (one model __init__ per row cost more)
_HEALTH_ROWS = TypeAdapter(list[HealthRow])


def _health_rows(health: pd.DataFrame) -> list[HealthRow]:
    def clean(value: Any) -> Any:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else value

    # column by column to Python values (DataFrame.to_dict boxes every cell on its own)
    columns = [c for c in health.columns if c in HealthRow.model_fields]
    values = [health[c].tolist() for c in columns]
    return _HEALTH_ROWS.validate_python([{k: clean(v) for k, v in zip(columns, row, strict=True)}
                                         for row in zip(*values, strict=True)])


def at_risk_accounts(rows: list[HealthRow], limit: int, weights: dict[str, float],
                     previous: dict[str, HealthRow] | None = None) -> list[AtRiskAccount]:
    """The red-band customers with the most MRR at risk, ``limit`` at most.

    Rule: among customers in the red band, order by MRR at risk = MRR · (100 − health) / 100,
    largest first (ties: lower health, then account id). It weighs both: a $13.5k account at
    health 13 ($11.7k at risk) comes before a $230 account at health 4 ($221).
    ``previous``: last month's health rows by account, for the change and what moved it.
    """
    red = [r for r in rows if r.band == "red" and r.health is not None]
    red.sort(key=lambda r: (-mrr_at_risk(r), round(r.health or 0.0, 6), r.account_id))
    return [_at_risk(r, weights, (previous or {}).get(r.account_id)) for r in red[:limit]]


def mrr_at_risk(row: HealthRow) -> float:
    """MRR · (100 − health) / 100 (currency/month)."""
    return row.mrr * (100.0 - (row.health or 0.0)) / 100.0


def _components(row: HealthRow) -> dict[str, float | None]:
    return {c: getattr(row, c) for c in COMPONENTS}


def _at_risk(row: HealthRow, weights: dict[str, float], before: HealthRow | None) -> AtRiskAccount:
    scores = _components(row)
    weakest = weakest_components(scores, weights)
    moved_by, points = health_move(scores, _components(before), weights) if before is not None else (None, None)
    change = None if before is None or before.health is None else (row.health or 0.0) - before.health
    return AtRiskAccount(account_id=row.account_id, name=clip(row.name, NAME_CHARS), segment=row.segment,
                         csm=None if row.csm is None else clip(row.csm, NAME_CHARS), mrr=row.mrr,
                         health=row.health or 0.0, band=row.band or "red", mrr_at_risk=mrr_at_risk(row),
                         weakest=weakest, weakest_score=float(scores[weakest[0]] or 0.0) if weakest else 0.0,
                         health_previous=None if before is None else before.health, health_change=change,
                         moved_by=moved_by, moved_by_points=points)


def health_move(now: dict[str, float | None], before: dict[str, float | None],
                weights: dict[str, float]) -> tuple[str | None, float | None]:
    """The component that moved a customer's health most since last month, and by how many health points.

    Each component's points are its weighted share of the score (:func:`contributions`). The
    mover is the component with the largest change in the direction of the health change;
    (None, None) when health did not change or the months used different components.
    """
    present = [c for c in COMPONENTS if now.get(c) is not None]
    if not present or present != [c for c in COMPONENTS if before.get(c) is not None]:
        return None, None
    frame = pd.DataFrame([{c: now[c] for c in present}, {c: before[c] for c in present}])
    points = contributions(frame, weights)
    moves = points.iloc[0] - points.iloc[1]
    total = round(float(moves.sum()), 6)
    if total == 0:
        return None, None
    same_way = moves[moves * total > 0]
    mover = str((same_way.abs()).idxmax())
    return mover, float(moves[mover])


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
    # the model (and so metrics.json, the notebook and the report) keeps only the bounded text: one 50 MB
    # comment costs a paragraph, not the month's report
    return [Comment(account=clip(str(names.get(r["account_id"], r["account_id"])), NAME_CHARS), score=int(r["score"]),
                    category=r["category"], responded_on=r["responded_at"].strftime("%Y-%m-%d"),
                    text=clip(str(r["comment"]), COMMENT_CHARS))
            for r in picked]


def _bands(rows: list[HealthRow]) -> dict[str, BandShare]:
    return {band: BandShare(customers=sum(1 for r in rows if r.band == band),
                            mrr=float(sum(r.mrr for r in rows if r.band == band)))
            for band in BANDS}


def backtest_bands(population: pd.DataFrame) -> dict[str, BandChurn]:
    """{band: customers in it at L, of whom churned by P} from the backtest population (band, churned)."""
    if population.empty or "band" not in population:
        return {}
    return {band: BandChurn(customers=int((population["band"] == band).sum()),
                            churned=int(population.loc[population["band"] == band, "churned"].astype(bool).sum()))
            for band in BANDS}


def cohort_sizes(revenue: pd.DataFrame, period: Period) -> dict[str, int]:
    """n_c, the accounts of each cohort c in P-12 … P-1 (the cohorts of the cohort retention keys)."""
    members, _ = cohort_window(mrr_matrix(revenue), period)
    return {str(c): int(n) for c, n in members.value_counts().sort_index().items()}


def _quality(dataset: Dataset, period: Period) -> dict[str, TableQuality]:
    quality = {name: TableQuality(table=q.table, location=q.location, rows=q.rows, rejected=q.rejected,
                                  problems=list(q.problems), rejects_file=q.rejects_file)
               for name, q in dataset.quality.items()}
    excluded = dataset.excluded_in(period)
    if excluded and "revenue" in quality:
        quality["revenue"] = quality["revenue"].model_copy(update={
            "problems": [*quality["revenue"].problems, excluded_line(excluded, period)],
            "excluded_accounts": len(excluded)})
    outside = _outside_revenue(dataset, period)
    if outside and "revenue" in quality:
        quality["revenue"] = quality["revenue"].model_copy(update={
            "problems": [*quality["revenue"].problems, outside]})
    return quality


def _outside_revenue(dataset: Dataset, period: Period) -> str | None:
    """The sentence that warns when ``period`` lies outside the revenue table's months: "no revenue row = MRR 0"
    (SPEC §3) then reads every customer as churned (after the last month) or makes none (before the first)."""
    months = dataset.revenue["month"]
    if len(months) == 0:
        return None
    first, last = str(months.min()), str(months.max())
    if str(period) > last:
        return (f"the revenue table ends at {last}: no account has revenue in {period}, so every customer of {last} "
                f"counts as churned. Add {period}'s revenue rows, or report an earlier month")
    if str(period) < first:
        return (f"the revenue table starts at {first}: no account has revenue in {period}, so it has no customers "
                "and no revenue")
    return None


def excluded_line(accounts: list[str], period: Period) -> str:
    """The sentence that states which accounts the revenue and customer metrics of ``period`` leave out."""
    shown = ", ".join(accounts[:10]) + (f" and {len(accounts) - 10:,} more" if len(accounts) > 10 else "")
    return (f"{len(accounts):,} account{'s are' if len(accounts) != 1 else ' is'} left out of the revenue and "
            f"customer metrics of {period} because some of {'their' if len(accounts) != 1 else 'its'} revenue rows "
            f"were set aside (a missing month would otherwise read as MRR 0, i.e. churn): {shown}")


def _settings(config: Config) -> ReportSettings:
    return ReportSettings(company=config.report.company, title=config.report.title, paper=config.report.paper,
                          timezone=config.timezone, sla_hours=config.sla_hours, gross_margin=config.gross_margin,
                          health_weights=config.health.weights.model_dump(),
                          health_bands=config.health.bands.model_dump(),
                          health_backtest_months=config.health.backtest_months)


def health_missing(scored: pd.DataFrame, events_empty: bool) -> dict[str, str]:
    """Each health component left out of the scores, with the reason (its table is missing or empty)."""
    missing = {}
    for component, table in COMPONENT_TABLES.items():
        if component not in scored:
            missing[component] = why_unavailable(table, empty=table == "events" and events_empty)
    return missing


def unavailable_domains(metrics: dict[str, Any], notes: dict[str, str]) -> dict[str, str]:
    """Metric domains whose every metric is null, with the reason of the first (e.g. 'no surveys table').

    Such a domain has nothing to show: the report names it in one line instead of tables of n/a.
    """
    domains: dict[str, list[str]] = {}
    for key in metrics:
        info = BY_KEY.get(key)
        if info is not None:
            domains.setdefault(info.domain, []).append(key)
    return {domain: notes.get(keys[0], "no data") for domain, keys in domains.items()
            if all(metrics.get(k) is None for k in keys)}


@dataclass
class ModelOptions:
    """What to build beyond the period's own metrics. ``csreport backfill`` records values only."""

    comparisons: bool = True
    trends: bool = True
    details: bool = True  # at-risk list, comments, health rows
    made_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # aware; when the report is made

    @property
    def generated_at(self) -> str:
        """``made_at`` as the report prints it: '2026-11-25 03:40 UTC'."""
        return self.made_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_model(dataset: Dataset, period: Period, config: Config, targets: Targets, history: History | None,
                calculator: Calculator | None = None, options: ModelOptions | None = None) -> ReportModel:
    """The report model of ``period`` (see the module docstring for what it holds and why)."""
    options = options or ModelOptions()
    calc = calculator or Calculator(dataset, config, [period, period.previous, period.shift(-12)]
                                    if options.comparisons else [period], reported=[period])
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

    empty = dataset.events is not None and calc.dataset.events is None
    company = _scope(current, targets, None, compare(current, None), empty)
    segment_scopes = {name: _scope(seg, targets, name, compare(seg, name), empty) for name, seg in segments.items()}
    rows = _health_rows(current.health) if options.details else []
    before = calc.scope(previous, None) if options.details and options.comparisons else None
    # last month's rows of the red accounts only: the at-risk list reads no other (a typed row per customer
    # of last month cost as much as this month's table)
    red = {r.account_id for r in rows if r.band == "red"}
    previous_rows = {r.account_id: r for r in _health_rows(rows_of(before.health, red))} if before is not None else None
    weights = config.health.weights.model_dump()
    tz = config.timezone
    return ReportModel(
        **company.model_dump(),
        period=str(period),
        previous_period=str(previous),
        segments=segment_scopes,
        trends=_trends(dataset, config, period, current, recorded.get(ALL, {}), calc.computed())
        if options.trends else {},
        restatements=restatements,
        at_risk=at_risk_accounts(rows, config.report.at_risk_shown, weights, previous_rows) if options.details else [],
        comments=comment_sample(dataset, period, tz, config.report.comments_shown) if options.details else [],
        health_bands=_bands(rows),
        data_quality=_quality(dataset, period),
        unfinished_as_of=period.unfinished_on(options.made_at, tz),
        provenance=Provenance(source=dataset.source, source_kind=dataset.source_kind, fingerprint=dataset.fingerprint,
                              csreport_version=__version__, generated_at=options.generated_at, timezone=tz),
        settings=_settings(config),
        health_components=[c for c in COMPONENTS if c in current.health],
        health_missing=health_missing(current.health, empty),
        unavailable=unavailable_domains(company.metrics, company.notes),
        csm_known="csm" in dataset.accounts,
        at_risk_red_total=sum(1 for r in rows if r.band == "red"),
        backtest_bands=backtest_bands(current.backtest),
        cohort_sizes=cohort_sizes(dataset.revenue, period) if options.details else {},
        health=rows,
    )

