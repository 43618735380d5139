"""The report model: every number a report, email or metrics.json shows, typed and immutable.

One :class:`ReportModel` is built per period (see :mod:`csreport.model.build`). Its JSON
form *is* ``metrics.json`` (SPEC §5 plus the extra sections below), so the notebook, the
HTML and PDF, the email and ``csreport metrics`` can only ever show the same figures.

Layout of the document::

    period, metrics, status, notes           SPEC §5, company-wide
    targets, comparison, stats               company-wide targets, MoM/YoY changes, survey (n, variance)
    segments: {name: Scope}                  the same five sections for each segment
    previous_period, trends, restatements    context over time
    at_risk, comments, health_bands          the customers and voices behind the numbers
    backtest_bands, cohort_sizes             the n behind the health backtest and the cohort curves
    health_components, unavailable           what a section could not use, and why
    data_quality, provenance, settings       where the numbers come from
    book                                     a book of business (CSM or segment) with the company beside; null
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from ..periods import Period

if TYPE_CHECKING:
    import pandas as pd

Status = Literal["green", "amber", "red"]
Direction = Literal["higher", "lower"]
ValueSource = Literal["history", "data"]
# a metric value: a number, an object (feature adoption: {feature: pct}; cohorts: {month: [pct, ...]}), or null
MetricValue = int | float | dict[str, float] | dict[str, list[float]] | None


class Frozen(BaseModel):
    """Base of every model part: immutable once built, and strict about its fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class TargetInfo(Frozen):
    """The target a value was judged against (company-wide, or a segment's override)."""

    target: float
    amber: float
    direction: Direction
    source: str | None = None


class SurveyStat(Frozen):
    """Responses behind a survey metric and the per-response variance (share units for NPS/CSAT)."""

    n: int
    variance: float | None


class Change(Frozen):
    """A metric against the previous month (MoM) and the same month a year earlier (YoY).

    ``previous_from`` / ``year_ago_from`` say where the earlier value came from: the history
    store when it holds that period and metric, otherwise the data, recomputed.
    ``significant`` is the SPEC §3 test of the MoM change, ``yoy_significant`` of the YoY change
    (survey metrics only; else null).
    """

    previous: float | None = None
    previous_from: ValueSource | None = None
    year_ago: float | None = None
    year_ago_from: ValueSource | None = None
    mom_delta: float | None = None
    yoy_delta: float | None = None
    significant: bool | None = None
    yoy_significant: bool | None = None  # the same test against the year-ago month


class Scope(Frozen):
    """The metrics of one scope (all customers, or one segment) with status, targets and changes."""

    metrics: dict[str, MetricValue]
    status: dict[str, Status | None]
    notes: dict[str, str]
    targets: dict[str, TargetInfo]
    comparison: dict[str, Change]
    stats: dict[str, SurveyStat]

    def value(self, key: str) -> Any:
        return self.metrics.get(key)

    def change(self, key: str) -> Change:
        return self.comparison.get(key) or Change()


class Trend(Frozen):
    """One metric over up to 13 months ending with the period, oldest first.

    ``moe95`` is the 95 % margin of error of each month's value in the metric's units (NPS:
    nps_moe95; CSAT: 196 · sqrt(p(1 − p) / n) in percentage points), empty for other metrics.
    """

    months: list[str]
    values: list[float | None]
    sources: list[ValueSource | None]
    moe95: list[float | None] = []


class Restatement(Frozen):
    """A past period whose recorded value differs from what the data gives now (the as-of rule was broken)."""

    period: str
    metric: str
    segment: str  # '' = all customers
    recorded: float | None
    recomputed: float | None


class HealthRow(Frozen):
    """One customer's health for the period (health.csv)."""

    account_id: str
    name: str
    segment: str
    csm: str | None = None  # accounts.csm, when the table has it
    mrr: float
    usage: float | None = None
    feedback: float | None = None
    support: float | None = None
    payment: float | None = None
    health: float | None
    band: Status | None
    weakest: str | None


class AtRiskAccount(Frozen):
    """A red-band customer, with what is weakest now and what moved its health since last month.

    ``mrr_at_risk`` = mrr · (100 − health) / 100: the share of its MRR the health score says is
    in danger; the list is ordered by it (see ``build.at_risk_accounts``). ``weakest`` lists every
    component tied for the lowest score, heaviest weight first. ``health_change`` is health now −
    health last month (None for a customer who was not one last month); ``moved_by`` is the
    component whose weighted points changed most in the direction of that change, and
    ``moved_by_points`` its change in health points.
    """

    account_id: str
    name: str
    segment: str
    csm: str | None = None
    mrr: float
    health: float
    band: Status
    mrr_at_risk: float
    weakest: list[str]
    weakest_score: float
    health_previous: float | None = None
    health_change: float | None = None
    moved_by: str | None = None
    moved_by_points: float | None = None


class Comment(Frozen):
    """A verbatim survey comment (untrusted text: escaped wherever it is shown)."""

    account: str
    score: int
    category: Literal["promoter", "passive", "detractor"]
    responded_on: str  # YYYY-MM-DD, local
    text: str


class BandShare(Frozen):
    customers: int
    mrr: float


class BandChurn(Frozen):
    """The health backtest in one band: customers in that band at L = P − h months, and how many
    of them churned by P (not active in P). churn % = 100 · churned / customers."""

    customers: int
    churned: int


class TableQuality(Frozen):
    table: str
    location: str | None
    rows: int = 0
    rejected: int = 0
    problems: list[str] = []
    rejects_file: str | None = None
    excluded_accounts: int = 0  # revenue: accounts left out of this period's revenue metrics (rejected rows)


class Provenance(Frozen):
    source: str  # the data source as the user named it (a URL never carries a password)
    source_kind: str
    fingerprint: str
    csreport_version: str
    generated_at: str
    timezone: str


class ReportSettings(Frozen):
    """The config values a reader needs to interpret the numbers, and the report's header."""

    company: str
    title: str
    paper: Literal["A4", "Letter"]
    timezone: str
    sla_hours: float
    gross_margin: float
    health_weights: dict[str, float]
    health_bands: dict[str, float]
    health_backtest_months: int = 3


class Book(Frozen):
    """A book of business: the accounts of one CSM or one segment (``csreport batch``).

    The report model of a book holds the book's own numbers; ``company`` holds the whole
    company's of the same period (values, status and targets), to show beside them.
    """

    by: Literal["csm", "segment"]
    name: str  # untrusted text: escaped wherever shown
    accounts: int
    company: Scope


class ReportModel(Scope):
    """Everything one period's report shows. The company-wide scope is the model itself
    (or, with ``book`` set, the scope of that book of business)."""

    period: str
    previous_period: str
    segments: dict[str, Scope]
    trends: dict[str, Trend]
    restatements: list[Restatement]
    at_risk: list[AtRiskAccount]
    comments: list[Comment]
    health_bands: dict[str, BandShare]
    data_quality: dict[str, TableQuality]
    provenance: Provenance
    settings: ReportSettings
    # the health components the scores were computed from, and each left-out one with the reason
    health_components: list[str] = []
    health_missing: dict[str, str] = {}
    # metric domains (catalog 'domain': surveys, support, ...) with nothing to show, and why
    unavailable: dict[str, str] = {}
    csm_known: bool = False  # the accounts table has a csm column (the at-risk list shows owners)
    at_risk_red_total: int = 0  # customers in the red band, of whom at_risk lists the first few
    # the n behind the per-band backtest churn: {band: customers at L, churned by P} (empty without health)
    backtest_bands: dict[str, BandChurn] = {}
    # accounts in each cohort of the cohort retention keys: {'YYYY-MM': n_c}, the cohorts of P-12 … P-1
    cohort_sizes: dict[str, int] = {}
    health: list[HealthRow] = []  # per customer; written to health.csv, left out of metrics.json
    # the day the report was made (its time zone) when the month was not over yet: a report of the month so far
    unfinished_as_of: date | None = None
    book: Book | None = None  # set for a book of business (one CSM's or segment's accounts)

    @property
    def month(self) -> Period:
        return Period.parse(self.period)

    @property
    def backtest_month(self) -> Period:
        """L = P − h months (config health.backtest_months): the month the health backtest scored."""
        return self.month.shift(-self.settings.health_backtest_months)

    def trend(self, key: str) -> pd.Series[float]:
        """A metric's trend as a Series indexed by 'YYYY-MM' (NaN where the value is null)."""
        import pandas as pd

        found = self.trends.get(key)
        if found is None:
            return pd.Series(dtype=float)
        return pd.Series([float("nan") if v is None else v for v in found.values], index=found.months, dtype=float)

    def trend_margin(self, key: str) -> pd.Series[float]:
        """The 95 % margin of error of a trend (NPS, CSAT) as a Series like :meth:`trend`; empty for others."""
        import pandas as pd

        found = self.trends.get(key)
        if found is None or not found.moe95:
            return pd.Series(dtype=float)
        return pd.Series([float("nan") if v is None else v for v in found.moe95], index=found.months, dtype=float)

    def available(self, key: str) -> bool:
        """Whether a metric's domain has data (a metric outside the catalog always counts as available)."""
        from ..metrics.catalog import BY_KEY

        info = BY_KEY.get(key)
        return info is None or info.domain not in self.unavailable

    def quarantined(self) -> dict[str, int]:
        """Rows set aside as invalid, per table (only tables with any), in data-quality order."""
        return {name: q.rejected for name, q in self.data_quality.items() if q.rejected}

    def target_value(self, key: str) -> float | None:
        """The company-wide target of a metric (for reference lines), or None."""
        found = self.targets.get(key)
        return None if found is None else found.target

    def scope(self, segment: str | None = None) -> Scope:
        """All customers (``None``) or one segment."""
        return self if segment is None else self.segments[segment]

    def document(self) -> dict[str, Any]:
        """metrics.json: the SPEC §5 keys first, then the model's other sections."""
        data = self.model_dump(mode="json", exclude={"health"})
        first = {key: data.pop(key) for key in ("period", "metrics", "status", "notes")}
        return first | data

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ReportModel:
        """Read a model back from metrics.json (or from the notebook's model output)."""
        return cls.model_validate(document)
