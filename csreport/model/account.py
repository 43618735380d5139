"""The account model: every number of one customer's review (the ``account_review`` notebook).

One :class:`AccountModel` per account and period, typed and immutable like the report model.
:class:`AccountBuilder` builds many of them from ONE :class:`~csreport.model.Calculator`: the
company's health table of each of the 12 months (which scores every customer, so an account's
health is its row there), the month's event aggregates and the small tables, grouped by account
once. Each rule stays where it lives: health in :mod:`csreport.metrics.health`, support and
surveys in their metric modules, applied to the account's own rows.

Layout of ``account.json``::

    period, account (id, name, segment, csm, plan, region, signup), customer, customer_since
    health: 12 months of health, band and the four components (null where not a customer)
    company_health: the company's average health of each month, for reference
    mrr, active_users: 12 months each
    active_days, top_features, metrics (the account's own support, survey, engagement and
    session metrics of the period), survey_12m (NPS and CSAT over the 12 months)
    responses, open_tickets, overdue_invoices: the rows behind them (text untrusted)
    discuss: the weakest and the fastest-falling health components, with their numbers
"""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from typing import Any, Literal

import pandas as pd

from .. import __version__
from ..data.events import EngagementAggregates
from ..metrics.base import MetricSet
from ..metrics.engagement import engagement_metrics
from ..metrics.health import COMPONENTS, health_summary
from ..metrics.revenue import mrr_matrix
from ..metrics.sessions import session_metrics
from ..metrics.support import support_metrics
from ..metrics.surveys import nps_category, survey_metrics
from ..periods import Period
from .build import Calculator, ModelOptions, _settings
from .types import Frozen, Provenance, ReportSettings, Status

ACCOUNT_MONTHS = 12  # the review's window: health, MRR and usage over a year
DISCUSS_LOOKBACK = 3  # "fastest falling" compares with a quarter earlier, the QBR cadence
FALLING_POINTS = 10.0  # a component that lost at least this many points is worth a conversation
DISCUSS_LIMIT = 3
TOP_FEATURES = 5
RESPONSES_SHOWN = 12
# the account's own metrics of the period, from the domain functions applied to its rows
PERIOD_KEYS = ("mau", "dau_avg", "stickiness_pct", "tickets_created", "frt_median_hours", "resolution_median_hours",
               "sla_met_pct", "backlog_end", "nps", "nps_responses", "csat_pct", "csat_responses")
SESSION_KEYS = ("sessions", "session_minutes_median", "session_minutes_avg", "session_users",
                "sessions_per_user_avg", "time_in_product_hours_per_user")
SURVEY_12M_KEYS = ("nps", "nps_responses", "nps_promoters_pct", "nps_detractors_pct", "csat_pct", "csat_responses")

Component = Literal["usage", "feedback", "support", "payment"]


class AccountInfo(Frozen):
    """Who the account is (untrusted text: escaped wherever shown)."""

    account_id: str
    name: str
    segment: str
    csm: str | None = None
    plan: str | None = None
    region: str | None = None
    signup_date: str | None = None  # YYYY-MM-DD


class MonthHealth(Frozen):
    """The account's health in one month; every value null when it was not a customer then."""

    month: str
    customer: bool
    health: float | None = None
    band: Status | None = None
    usage: float | None = None
    feedback: float | None = None
    support: float | None = None
    payment: float | None = None

    def component(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)


class MonthValue(Frozen):
    month: str
    value: float | None


class FeatureUse(Frozen):
    event: str
    users: int


class Response(Frozen):
    """One survey answer of the account (the comment is untrusted text)."""

    survey: Literal["nps", "csat"]
    score: int
    category: Literal["promoter", "passive", "detractor", "satisfied", "unsatisfied"]
    responded_on: str
    text: str | None = None


class OpenTicket(Frozen):
    ticket_id: str
    created_on: str
    age_days: float  # at the end of the period
    priority: str | None = None


class OverdueInvoice(Frozen):
    invoice_id: str
    due_on: str
    amount: float
    days_overdue: int  # at the end of the period


class Topic(Frozen):
    """A health component worth discussing: the weakest now, falling fastest, or both."""

    component: Component
    score: float
    previous: float | None = None  # its value in ``since``
    since: str | None = None
    change: float | None = None  # score − previous, points
    weakest: bool = False
    falling: bool = False


class AccountModel(Frozen):
    """Everything one account's review shows for ``period``."""

    period: str
    months: list[str]  # the 12 months ending with the period, oldest first
    account: AccountInfo
    customer: bool  # MRR > 0 in the period
    customer_since: str | None  # first month with MRR > 0
    health: list[MonthHealth]
    company_health: list[MonthValue]
    mrr: list[MonthValue]
    active_users: list[MonthValue]  # distinct users a month; null values without an events table
    active_days: int | None  # days of the period with at least one event; null without an events table
    top_features: list[FeatureUse]
    metrics: dict[str, float | int | None]  # the account's own numbers of the period (no per-feature objects)
    notes: dict[str, str]
    survey_12m: dict[str, float | int | None]
    responses: list[Response]
    open_tickets: list[OpenTicket]
    overdue_invoices: list[OverdueInvoice]
    discuss: list[Topic]
    settings: ReportSettings
    provenance: Provenance
    unfinished_as_of: date | None = None  # as in ReportModel: the day it was made, when the month was not over

    @property
    def month(self) -> Period:
        return Period.parse(self.period)

    @property
    def now(self) -> MonthHealth:
        return self.health[-1]

    @property
    def health_then(self) -> MonthHealth | None:
        """The month DISCUSS_LOOKBACK months before the period, if the account was a customer then."""
        then = self.health[-(DISCUSS_LOOKBACK + 1)] if len(self.health) > DISCUSS_LOOKBACK else None
        return then if then is not None and then.customer else None

    @property
    def health_change(self) -> float | None:
        """Health now minus health DISCUSS_LOOKBACK months before (points); None without both."""
        then = self.health_then
        if then is None or then.health is None or self.now.health is None:
            return None
        return self.now.health - then.health

    @property
    def users_then(self) -> float | None:
        """Active users DISCUSS_LOOKBACK months before the period."""
        return self.active_users[-(DISCUSS_LOOKBACK + 1)].value if len(self.active_users) > DISCUSS_LOOKBACK else None

    @property
    def mrr_now(self) -> float:
        return self.mrr[-1].value or 0.0

    @property
    def overdue_amount(self) -> float:
        return float(sum(i.amount for i in self.overdue_invoices))

    def value(self, key: str) -> Any:
        return self.metrics.get(key)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> AccountModel:
        return cls.model_validate(document)


class _ByAccount:
    """A frame's rows per account: grouped once, each account's rows cut out only when asked for."""

    def __init__(self, frame: pd.DataFrame | None):
        self.frame = frame
        self.rows = {} if frame is None or frame.empty else frame.groupby("account_id", sort=False).indices

    def get(self, account_id: str, default: pd.DataFrame | None = None) -> pd.DataFrame | None:
        rows = self.rows.get(account_id)
        return default if rows is None or self.frame is None else self.frame.iloc[rows]


def _by_account(frame: pd.DataFrame | None) -> _ByAccount:
    return _ByAccount(frame)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "" else str(value)


def _day(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


class AccountBuilder:
    """Builds the :class:`AccountModel` of any account for ``period`` from one calculator.

    What every account shares (the company's health tables of 12 months, the month's event
    aggregates, the tables grouped by account) is computed once here.
    """

    def __init__(self, calculator: Calculator, period: Period, options: ModelOptions):
        self.calc = calculator
        self.period = period
        self.config = calculator.config
        data = calculator.dataset
        self.data = data
        self.months = period.shift(-(ACCOUNT_MONTHS - 1)).range_to(period)
        self.unfinished_as_of = period.unfinished_on(options.made_at, self.config.timezone)
        covered = [m for m in self.months if calculator.covers(m)]
        # the company's health table scores every customer of a month: an account's health is its row
        tables = {m: calculator.health(m) for m in covered}
        self._health = {m: table.set_index("account_id") for m, table in tables.items()}
        self._company_health = {m: health_summary(table).values.get("health_avg") for m, table in tables.items()}
        self._matrix = mrr_matrix(data.revenue)
        self._events: dict[Period, EngagementAggregates | None] = {m: calculator.month_events(m) for m in self.months}
        now = self._events[period]
        self._users = {m: (e.account_months.set_index("account_id")["users"] if e is not None else None)
                       for m, e in self._events.items()}
        self._now = {f.name: _by_account(getattr(now, f.name)) for f in fields(now)} if now else {}
        self._surveys = _by_account(data.surveys)
        self._tickets = _by_account(data.tickets)
        self._invoices = _by_account(data.invoices)
        self._accounts = data.accounts.set_index("account_id")
        self._settings = _settings(self.config)
        self._provenance = Provenance(source=data.source, source_kind=data.source_kind, fingerprint=data.fingerprint,
                                      csreport_version=__version__, generated_at=options.generated_at,
                                      timezone=self.config.timezone)

    def build(self, account_id: str) -> AccountModel:
        row = self._accounts.loc[account_id]
        health = [self._month_health(account_id, m) for m in self.months]
        mrr = self._mrr(account_id)
        customer = (mrr[-1].value or 0.0) > 0
        metrics = self._period_metrics(account_id, customer)
        return AccountModel(
            period=str(self.period),
            months=[str(m) for m in self.months],
            account=AccountInfo(account_id=account_id, name=str(row["name"]), segment=str(row["segment"]),
                                csm=_text(row.get("csm")), plan=_text(row.get("plan")), region=_text(row.get("region")),
                                signup_date=_day(row.get("signup_date"))),
            customer=customer,
            customer_since=self._customer_since(account_id),
            health=health,
            company_health=[MonthValue(month=str(m), value=self._company_health.get(m)) for m in self.months],
            mrr=mrr,
            active_users=[MonthValue(month=str(m), value=self._users_in(account_id, m)) for m in self.months],
            active_days=self._active_days(account_id),
            top_features=self._top_features(account_id),
            metrics={k: _number(v) for k, v in metrics.values.items()},
            notes=metrics.notes,
            survey_12m=self._survey_12m(account_id),
            responses=self._responses(account_id),
            open_tickets=self._open_tickets(account_id),
            overdue_invoices=self._overdue_invoices(account_id),
            discuss=discussion(health, self.config.health.bands.green, self.config.health.weights.model_dump()),
            settings=self._settings,
            provenance=self._provenance,
            unfinished_as_of=self.unfinished_as_of,
        )

    # --- health, revenue, usage -------------------------------------------------------------

    def _month_health(self, account_id: str, month: Period) -> MonthHealth:
        table = self._health.get(month)
        if table is None or account_id not in table.index:
            return MonthHealth(month=str(month), customer=False)
        row = table.loc[account_id]

        def number(name: str) -> float | None:
            value = row.get(name)
            return None if value is None or pd.isna(value) else float(value)

        band = row.get("band")
        return MonthHealth(month=str(month), customer=True, health=number("health"),
                           band=band if isinstance(band, str) else None,
                           **{name: number(name) for name in COMPONENTS})

    def _mrr(self, account_id: str) -> list[MonthValue]:
        known = account_id in self._matrix.index
        first_month = str(self._matrix.columns.min()) if len(self._matrix.columns) else None
        values = []
        for month in self.months:
            label = str(month)
            if first_month is None or label < first_month:
                values.append(MonthValue(month=label, value=None))  # before the data: unknown, not zero
            elif known and label in self._matrix.columns:
                values.append(MonthValue(month=label, value=float(self._matrix.at[account_id, label])))
            else:
                values.append(MonthValue(month=label, value=0.0))  # no revenue row = MRR 0 (SPEC §1)
        return values

    def _customer_since(self, account_id: str) -> str | None:
        if account_id not in self._matrix.index:
            return None
        row = self._matrix.loc[account_id]
        active = [m for m in row.index if row[m] > 0 and m <= str(self.period)]
        return min(active) if active else None

    def _users_in(self, account_id: str, month: Period) -> float | None:
        users = self._users.get(month)
        if users is None:
            return None
        return float(users.get(account_id, 0))

    def _active_days(self, account_id: str) -> int | None:
        if not self._now:
            return None
        days = self._now["account_days"].get(account_id)
        return 0 if days is None else int(days["day"].nunique())

    def _top_features(self, account_id: str) -> list[FeatureUse]:
        features = self._now["account_features"].get(account_id) if self._now else None
        if features is None:
            return []
        top = features.sort_values(["users", "event"], ascending=[False, True]).head(TOP_FEATURES)
        return [FeatureUse(event=str(r.event), users=int(r.users)) for r in top.itertuples()]

    # --- the period's own metrics of the account -----------------------------------------------

    def _period_metrics(self, account_id: str, customer: bool) -> MetricSet:
        tz = self.config.timezone
        start, end = self.period.start(tz), self.period.end(tz)
        out = MetricSet()
        month = self._account_events(account_id)
        customers = {account_id} if customer else set()
        if month is None:  # as compute_metrics: no events table, every events metric "not available"
            out.update(MetricSet.table_missing("events"))
        else:
            out.update(engagement_metrics(month, customers, self.period.days))
            out.update(session_metrics(month.account_sessions, month.account_session_users))
        tickets = self._tickets.get(account_id, _empty_like(self.data.tickets))
        out.update(support_metrics(tickets, start, end, self.config.sla_hours))
        surveys = self._surveys.get(account_id, _empty_like(self.data.surveys))
        out.update(survey_metrics(surveys, start, end))
        shown = [k for k in PERIOD_KEYS + SESSION_KEYS if k in out.values]
        return MetricSet(values={k: out.values[k] for k in shown},
                         notes={k: out.notes[k] for k in shown if k in out.notes})

    def _account_events(self, account_id: str) -> EngagementAggregates | None:
        """The month's aggregates of this account only (every frame, sessions included)."""
        template = self._events[self.period]
        if template is None:
            return None
        return replace(template, **{name: rows.get(account_id, getattr(template, name).iloc[0:0])
                                    for name, rows in self._now.items()})

    def _survey_12m(self, account_id: str) -> dict[str, float | int | None]:
        tz = self.config.timezone
        surveys = self._surveys.get(account_id, _empty_like(self.data.surveys))
        values = survey_metrics(surveys, self.months[0].start(tz), self.period.end(tz)).values
        return {k: _number(values[k]) for k in SURVEY_12M_KEYS if k in values}

    def _responses(self, account_id: str) -> list[Response]:
        surveys = self._surveys.get(account_id)
        if surveys is None:
            return []
        tz = self.config.timezone
        rows = surveys[surveys["survey"].isin(["nps", "csat"]) & (surveys["responded_at"] >= self.months[0].start(tz))
                       & (surveys["responded_at"] < self.period.end(tz))]
        rows = rows.sort_values(["responded_at", "response_id"], ascending=[False, True]).head(RESPONSES_SHOWN)
        out = []
        for r in rows.to_dict(orient="records"):
            score = int(r["score"])
            if r["survey"] == "nps":
                category = str(nps_category(pd.Series([score])).iloc[0])
            else:
                category = "satisfied" if score >= 4 else "unsatisfied"
            out.append(Response(survey=r["survey"], score=score, category=category,
                                responded_on=r["responded_at"].tz_convert(tz).strftime("%Y-%m-%d"),
                                text=_text(r.get("comment"))))
        return out

    def _open_tickets(self, account_id: str) -> list[OpenTicket]:
        tickets = self._tickets.get(account_id)
        if tickets is None:
            return []
        end = self.period.end(self.config.timezone)
        open_at_end = tickets["created_at"] < end
        if "resolved_at" in tickets:
            open_at_end &= ~(tickets["resolved_at"].notna() & (tickets["resolved_at"] < end))
        rows = tickets[open_at_end].sort_values(["created_at", "ticket_id"])
        return [OpenTicket(ticket_id=str(r["ticket_id"]), created_on=r["created_at"].strftime("%Y-%m-%d"),
                           age_days=(end - r["created_at"]).total_seconds() / 86400.0,
                           priority=_text(r.get("priority")))
                for r in rows.to_dict(orient="records")]

    def _overdue_invoices(self, account_id: str) -> list[OverdueInvoice]:
        """Invoices due before the end of the period and not paid before it (as-of rule: paid later = unpaid)."""
        invoices = self._invoices.get(account_id)
        if invoices is None:
            return []
        end = self.period.end_date
        unpaid = invoices["paid_date"].isna() | (invoices["paid_date"] >= end)
        rows = invoices[(invoices["due_date"] < end) & unpaid].sort_values(["due_date", "invoice_id"])
        return [OverdueInvoice(invoice_id=str(r["invoice_id"]), due_on=r["due_date"].strftime("%Y-%m-%d"),
                               amount=float(r["amount"]), days_overdue=int((end - r["due_date"]).days))
                for r in rows.to_dict(orient="records")]


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) else None


def _empty_like(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if frame is None else frame.iloc[0:0]


def discussion(history: list[MonthHealth], green: float, weights: dict[str, float]) -> list[Topic]:
    """What to discuss: the weakest component if it is below green, then the fastest-falling ones.

    A component is *falling* when it lost at least FALLING_POINTS since DISCUSS_LOOKBACK months
    earlier (or the first month of that window in which the account was a customer). Ties in
    weakness go to the heavier-weighted component, as for the report's "weakest component".
    Up to DISCUSS_LIMIT topics; none when the account is not a customer in the period.
    """
    now = history[-1]
    if not now.customer:
        return []
    scores: dict[str, float] = {}
    for name in COMPONENTS:
        value = now.component(name)
        if value is not None:
            scores[name] = value
    if not scores:
        return []
    window = history[-(DISCUSS_LOOKBACK + 1):-1]
    before = next((m for m in window if m.customer), None)

    def change(component: str) -> tuple[float | None, float | None]:
        previous = before.component(component) if before is not None else None
        return (None, None) if previous is None else (previous, scores[component] - previous)

    def fell(component: str) -> float:
        return change(component)[1] or 0.0

    order = sorted(scores, key=lambda c: (scores[c], -weights.get(c, 0.0)))
    weakest = order[0]
    falling = sorted((c for c in scores if fell(c) <= -FALLING_POINTS), key=lambda c: (fell(c), -weights.get(c, 0.0)))
    chosen: list[str] = []
    if scores[weakest] < green:
        chosen.append(weakest)
    chosen += [c for c in falling if c not in chosen]
    topics = []
    for component in chosen[:DISCUSS_LIMIT]:
        previous, delta = change(component)
        topics.append(Topic(component=component, score=scores[component],
                            previous=previous, since=before.month if before and previous is not None else None,
                            change=delta, weakest=component == weakest and scores[component] < green,
                            falling=component in falling))
    return topics
