"""Every metric key of SPEC §3 with its label, unit, direction and source table.

The order here is the order of ``metrics.json``. ``higher_is_better`` drives
RAG status and the colour of delta arrows; ``None`` means neither (volumes).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: str  # "pct", "count", "currency", "hours", "minutes", "ratio", "days", "score", "points"
    higher_is_better: bool | None
    domain: str
    table: str


def _m(key, label, unit, better, domain, table="revenue") -> MetricInfo:
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
    _m("grr_pct", "Gross revenue retention", "pct", True, "revenue"),
    _m("nrr_pct", "Net revenue retention", "pct", True, "revenue"),
    _m("grr_ttm_pct", "GRR (trailing 12 months)", "pct", True, "revenue"),
    _m("nrr_ttm_pct", "NRR (trailing 12 months)", "pct", True, "revenue"),
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
)

BY_KEY: dict[str, MetricInfo] = {m.key: m for m in CATALOG}
KEYS: tuple[str, ...] = tuple(m.key for m in CATALOG)


def keys_of(domain: str) -> list[str]:
    return [m.key for m in CATALOG if m.domain == domain]
