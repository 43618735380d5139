"""Every metric key of SPEC §3 with its label, unit, direction and source table, and the company's own.

The order here is the order of ``metrics.json``. ``higher_is_better`` drives
RAG status and the colour of delta arrows; ``None`` means neither (volumes).

Company metrics (the config's ``metrics_module``, see :mod:`csreport.metrics.custom`) are
registered into :data:`BY_KEY` when the config is loaded, so every consumer (targets, tables,
deltas, definitions) knows their label, unit, direction and formula like a built-in's. One
process works for one config at a time: loading a config replaces the company metrics of the
one loaded before.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

UNITS = ("pct", "count", "currency", "hours", "minutes", "days", "score", "points", "ratio")
CUSTOM_DOMAIN = "company"


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: str  # one of UNITS
    higher_is_better: bool | None
    domain: str
    table: str
    formula: str = ""  # the definition in words (company metrics: as their file states it)


def _m(key: str, label: str, unit: str, better: bool | None, domain: str, table: str = "revenue") -> MetricInfo:
    return MetricInfo(key, label, unit, better, domain, table)


CATALOG: tuple[MetricInfo, ...] = (
    _m("customers_start", "Customers at start", "count", None, "revenue"),
    _m("customers_end", "Customers at end", "count", True, "revenue"),
    _m("customers_new", "New customers", "count", True, "revenue"),
    _m("customers_reactivated", "Reactivated customers", "count", True, "revenue"),
    _m("customers_churned", "Churned customers", "count", False, "revenue"),
    _m("logo_churn_rate_pct", "Logo churn", "pct", False, "revenue"),
    _m("customer_retention_rate_pct", "Customer retention", "pct", True, "revenue"),
    _m("mrr_start", "MRR at start", "currency", None, "revenue"),
    _m("mrr_end", "MRR", "currency", True, "revenue"),
    _m("mrr_new", "New MRR", "currency", True, "revenue"),
    _m("mrr_reactivation", "Reactivation MRR", "currency", True, "revenue"),
    _m("mrr_expansion", "Expansion MRR", "currency", True, "revenue"),
    _m("mrr_contraction", "Contraction MRR", "currency", False, "revenue"),
    _m("mrr_churned", "Churned MRR", "currency", False, "revenue"),
    _m("quick_ratio", "Quick ratio (MRR gained per MRR lost)", "ratio", True, "revenue"),
    _m("grr_pct", "Gross revenue retention", "pct", True, "revenue"),
    _m("nrr_pct", "Net revenue retention", "pct", True, "revenue"),
    _m("grr_ttm_pct", "GRR (trailing 12 months)", "pct", True, "revenue"),
    _m("nrr_ttm_pct", "NRR (trailing 12 months)", "pct", True, "revenue"),
    _m("cohort_logo_retention_pct", "Cohort logo retention", "pct", True, "revenue"),
    _m("cohort_mrr_retention_pct", "Cohort MRR retention", "pct", True, "revenue"),
    _m("arpa", "Average revenue per account", "currency", True, "revenue"),
    _m("cltv", "Customer lifetime value", "currency", True, "revenue"),
    _m("nps", "NPS", "points", True, "surveys", "surveys"),
    _m("nps_responses", "NPS responses", "count", None, "surveys", "surveys"),
    _m("nps_promoters_pct", "Promoters", "pct", True, "surveys", "surveys"),
    _m("nps_detractors_pct", "Detractors", "pct", False, "surveys", "surveys"),
    _m("nps_moe95", "NPS margin of error (95%)", "points", None, "surveys", "surveys"),
    _m("csat_pct", "CSAT", "pct", True, "surveys", "surveys"),
    _m("csat_responses", "CSAT responses", "count", None, "surveys", "surveys"),
    _m("ces_avg", "Customer effort score", "score", True, "surveys", "surveys"),
    _m("ces_responses", "CES responses", "count", None, "surveys", "surveys"),
    _m("tickets_created", "Tickets created", "count", None, "support", "tickets"),
    _m("frt_median_hours", "First response time (median)", "hours", False, "support", "tickets"),
    _m("resolution_median_hours", "Resolution time (median)", "hours", False, "support", "tickets"),
    _m("sla_met_pct", "SLA met", "pct", True, "support", "tickets"),
    _m("backlog_end", "Open tickets at month end", "count", False, "support", "tickets"),
    _m("support_csat_pct", "Support CSAT", "pct", True, "support", "surveys"),
    _m("support_csat_responses", "Support CSAT responses", "count", None, "support", "surveys"),
    _m("mau", "Monthly active users", "count", True, "engagement", "events"),
    _m("dau_avg", "Daily active users (average)", "count", True, "engagement", "events"),
    _m("stickiness_pct", "Stickiness (DAU/MAU)", "pct", True, "engagement", "events"),
    _m("active_accounts_pct", "Customers using the product", "pct", True, "engagement", "events"),
    _m("feature_adoption_pct", "Feature adoption", "pct", True, "engagement", "events"),
    _m("sessions", "Sessions", "count", None, "engagement", "events"),
    _m("session_minutes_median", "Session length (median)", "minutes", None, "engagement", "events"),
    _m("session_minutes_avg", "Session length (average)", "minutes", None, "engagement", "events"),
    _m("session_users", "Users with a session", "count", True, "engagement", "events"),
    _m("sessions_per_user_avg", "Sessions per user", "ratio", True, "engagement", "events"),
    _m("time_in_product_hours_per_user", "Time in product per user", "hours", True, "engagement", "events"),
    _m("referral_rate_pct", "Customers referring", "pct", True, "referrals", "referrals"),
    _m("referrals", "Referrals", "count", True, "referrals", "referrals"),
    _m("referral_conversion_pct", "Referral conversion", "pct", True, "referrals", "referrals"),
    _m("onboarding_completion_pct", "Onboarded within 30 days", "pct", True, "onboarding", "accounts"),
    _m("onboarding_median_days", "Time to onboard (median)", "days", False, "onboarding", "accounts"),
    _m("health_avg", "Average health", "score", True, "health"),
    _m("health_green_pct", "Healthy customers", "pct", True, "health"),
    _m("health_amber_pct", "Customers at watch", "pct", False, "health"),
    _m("health_red_pct", "Customers at risk", "pct", False, "health"),
    _m("health_backtest_customers", "Backtest customers (active at L)", "count", None, "health"),
    _m("health_backtest_churned", "Backtest customers churned by P", "count", None, "health"),
    _m("health_backtest_auc", "Health predicts churn (AUC)", "ratio", True, "health"),
    _m("health_backtest_green_churn_pct", "Churn of customers green at L", "pct", False, "health"),
    _m("health_backtest_amber_churn_pct", "Churn of customers amber at L", "pct", False, "health"),
    _m("health_backtest_red_churn_pct", "Churn of customers red at L", "pct", False, "health"),
)

# metrics whose value is an object, not a number: {feature: pct} and {cohort 'YYYY-MM': [pct by age]}
OBJECT_KEYS = frozenset({"feature_adoption_pct", "cohort_logo_retention_pct", "cohort_mrr_retention_pct"})
# the cohort retention curves: recomputed from revenue for any period, never kept in the history store
COHORT_KEYS = ("cohort_logo_retention_pct", "cohort_mrr_retention_pct")

# the built-in metrics and, after a config with a metrics_module was loaded, the company's (see use_custom)
BY_KEY: dict[str, MetricInfo] = {m.key: m for m in CATALOG}
KEYS: tuple[str, ...] = tuple(m.key for m in CATALOG)
BUILT_IN: frozenset[str] = frozenset(KEYS)


def keys_of(domain: str) -> list[str]:
    """The built-in metric keys of a domain (revenue, surveys, support, ...), in catalog order."""
    return [m.key for m in CATALOG if m.domain == domain]


def keys_of_table(table: str) -> list[str]:
    """The built-in metric keys computed from ``table`` (a SPEC §1 table name), in catalog order.

    When the data source lacks the table these are the keys reported "not available"
    (:func:`not_available`), so a metric added here with its table is covered without more code.
    """
    return [m.key for m in CATALOG if m.table == table]


NOT_AVAILABLE = "not available"


def not_available(table: str, column: str | None = None, empty: bool = False) -> str:
    """The reason of a metric that cannot be computed because the data source lacks ``table``
    (or the table lacks ``column``, or has no rows): SPEC §1 says "not available", never 0."""
    return f"{NOT_AVAILABLE}: {why_unavailable(table, column, empty)}"


def why_unavailable(table: str, column: str | None = None, empty: bool = False) -> str:
    """'the data source has no surveys table', 'tickets has no resolved_at column', 'the events table has no rows'."""
    if empty:
        return f"the {table} table has no rows"
    if column is None:
        return f"the data source has no {table} table"
    return f"{table} has no {column} column"


def use_custom(metrics: Iterable[MetricInfo]) -> None:
    """Make ``metrics`` the catalog's company metrics, replacing those of any config loaded before.

    ``BY_KEY`` is changed in place, so every module that imported it sees them.
    """
    metrics = list(metrics)
    clashing = [m.key for m in metrics if m.key in BUILT_IN]
    if clashing:  # the loader reports this to the user first; this guards the built-ins
        raise ValueError(f"company metrics cannot replace built-in metrics: {clashing}")
    for key in [k for k in BY_KEY if k not in BUILT_IN]:
        del BY_KEY[key]
    BY_KEY.update({m.key: m for m in metrics})


def custom_keys() -> list[str]:
    """The keys of the company metrics registered now, in the order their file declares them."""
    return [key for key in BY_KEY if key not in BUILT_IN]
