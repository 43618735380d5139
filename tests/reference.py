"""An independent reference implementation of every metric of SPEC §3, written from the SPEC's text alone.

Nothing here imports csreport: the tables are read from the raw CSV files (events also from Parquet)
with pandas, and every
metric is computed with plain Python loops over the rows, in the most literal reading of the SPEC
sentence quoted above it. It is slow and simple on purpose: tests/test_reference.py runs
``csreport metrics`` on generated data and compares every key with :func:`reference_metrics`.

Time zone UTC (the default); periods are calendar months 'YYYY-MM'.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd

Month = tuple[int, int]  # (year, month)


# -- periods (SPEC §2) ------------------------------------------------------------------------------
def month_of(text: str) -> Month:
    year, month = text[:7].split("-")
    return int(year), int(month)


def shift(month: Month, by: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def start(month: Month) -> datetime:
    return datetime(month[0], month[1], 1, tzinfo=UTC)


def end(month: Month) -> datetime:
    return start(shift(month, 1))


def days_in(month: Month) -> int:
    return (end(month) - start(month)).days


def months_between(first: Month, last: Month) -> int:
    return (last[0] - first[0]) * 12 + last[1] - first[1]


def instant(text: str) -> datetime:
    return pd.Timestamp(text).tz_convert("UTC").to_pydatetime()


def day(text: str) -> date:
    return date.fromisoformat(text[:10])


# -- the raw tables -------------------------------------------------------------------------------
@dataclass
class Tables:
    mrr: dict[str, dict[Month, float]] = field(default_factory=dict)  # account -> month -> mrr
    events: list[tuple[str, str, str, datetime]] = field(default_factory=list)  # account, user, event, at
    surveys: list[dict] = field(default_factory=list)
    tickets: list[dict] = field(default_factory=list)
    invoices: list[dict] = field(default_factory=list)
    accounts: list[dict] = field(default_factory=list)  # account, signup (date), onboarded (date or None)
    referrals: list[dict] | None = None  # referrer, at, converted; None: the source has no referrals table


def _rows(folder: Path, name: str) -> list[dict]:
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
    return frame.to_dict("records")


def _flag(text: str) -> bool:
    """referrals.converted (bool) as written in a CSV: true/false (1/0 also accepted); anything else is an error."""
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f"referrals.converted: not a bool: {text!r}")
    return value in ("true", "1")


_READ: dict[tuple, Tables] = {}


def read_tables(folder: Path) -> Tables:
    """The raw tables of ``folder``; remembered per (folder, file sizes and times): each test compares several
    periods of one folder, and reading is the slow part. Callers only read the result."""
    files = sorted(Path(folder).iterdir())
    key = (str(Path(folder).resolve()), tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in files))
    if key not in _READ:
        _READ.clear()
        _READ[key] = _read_tables(Path(folder))
    return _READ[key]


def _read_tables(folder: Path) -> Tables:
    tables = Tables()
    for row in _rows(folder, "revenue"):
        tables.mrr.setdefault(row["account_id"], {})[month_of(row["month"])] = float(row["mrr"])
    if (folder / "events.parquet").exists():  # the demo's events: occurred_at is a UTC timestamp already
        frame = pd.read_parquet(folder / "events.parquet")
        tables.events = [(str(a), str(u), str(e), t.to_pydatetime()) for a, u, e, t in
                         zip(frame["account_id"], frame["user_id"], frame["event"], frame["occurred_at"], strict=True)]
    else:
        tables.events = [(r["account_id"], r["user_id"], r["event"], instant(r["occurred_at"]))
                         for r in _rows(folder, "events")]
    for row in _rows(folder, "surveys"):
        tables.surveys.append({"account": row["account_id"], "survey": row["survey"], "score": int(row["score"]),
                               "at": instant(row["responded_at"]), "ticket": row.get("ticket_id", "")})
    for row in _rows(folder, "tickets"):
        responded = row.get("first_response_at", "")
        tables.tickets.append({"account": row["account_id"], "created": instant(row["created_at"]),
                               "responded": instant(responded) if responded else None,
                               "resolved": instant(row["resolved_at"]) if row["resolved_at"] else None})
    for row in _rows(folder, "invoices"):
        tables.invoices.append({"account": row["account_id"], "due": day(row["due_date"]),
                                "paid": day(row["paid_date"]) if row["paid_date"] else None})
    for row in _rows(folder, "accounts"):
        onboarded = row.get("onboarded_at", "")
        tables.accounts.append({"account": row["account_id"], "signup": day(row["signup_date"]),
                                "onboarded": day(onboarded) if onboarded else None})
    if (folder / "referrals.csv").exists():
        tables.referrals = [{"referrer": row["referrer_account_id"], "at": instant(row["referred_at"]),
                             "converted": _flag(row["converted"])} for row in _rows(folder, "referrals")]
    return tables


# -- revenue ----------------------------------------------------------------------------------------
def mrr(tables: Tables, account: str, month: Month) -> float:
    """A missing row means MRR 0 that month."""
    return tables.mrr.get(account, {}).get(month, 0.0)


def active(tables: Tables, account: str, month: Month) -> bool:
    return mrr(tables, account, month) > 0


def customers(tables: Tables, month: Month) -> set[str]:
    return {a for a in tables.mrr if active(tables, a, month)}


def quick_ratio(tables: Tables, p: Month) -> float | None:
    """(mrr_new + mrr_reactivation + mrr_expansion) / (mrr_contraction + mrr_churned); null if the
    denominator is 0. new: active in P, never before P; reactivated: active in P, not in P-1, active
    some month before P-1; churned: active in P-1, not in P."""
    gained = lost = 0.0
    prev = shift(p, -1)
    for account in tables.mrr:
        now, before = mrr(tables, account, p), mrr(tables, account, prev)
        if now > 0 and before > 0:  # active in both: expansion or contraction
            gained += max(now - before, 0.0)
            lost += max(before - now, 0.0)
        elif now > 0:  # new (never active before P) or reactivated (active before P-1): mrr(P) either way
            gained += now
        elif before > 0:  # churned: mrr(P-1)
            lost += before
    return None if lost == 0 else gained / lost


def cohort_retention(tables: Tables, p: Month) -> tuple[dict | None, dict | None]:
    """(logo, MRR) retention per cohort month c in P-12 … P-1 with at least one account, ages 0 … P."""
    first: dict[str, Month] = {}
    for account, months in tables.mrr.items():
        positive = sorted(m for m, v in months.items() if v > 0)
        if positive:
            first[account] = positive[0]
    logo, money = {}, {}
    for back in range(12, 0, -1):
        c = shift(p, -back)
        members = [a for a, m in first.items() if m == c]
        if not members:
            continue
        base = sum(mrr(tables, a, c) for a in members)
        logo_curve, money_curve = [], []
        for k in range(months_between(c, p) + 1):
            m = shift(c, k)
            logo_curve.append(100.0 * sum(1 for a in members if active(tables, a, m)) / len(members))
            money_curve.append(100.0 * sum(mrr(tables, a, m) for a in members) / base)
        logo[label(c)], money[label(c)] = logo_curve, money_curve
    return (logo or None), (money or None)


# -- customers and revenue (SPEC §3, "Customers and revenue (from `revenue`)") ------------------------
def active_before(tables: Tables, account: str, month: Month) -> bool:
    """Active in some month before ``month`` (every month of the data, however far back)."""
    return any(m < month and v > 0 for m, v in tables.mrr.get(account, {}).items())


def is_new(tables: Tables, account: str, p: Month) -> bool:
    """SPEC §3, customers_new: "active in P, never active before P"."""
    return active(tables, account, p) and not active_before(tables, account, p)


def is_reactivated(tables: Tables, account: str, p: Month) -> bool:
    """SPEC §3, customers_reactivated: "active in P, not in P-1, active some month before P-1"."""
    prev = shift(p, -1)
    return active(tables, account, p) and not active(tables, account, prev) and active_before(tables, account, prev)


def is_churned(tables: Tables, account: str, p: Month) -> bool:
    """SPEC §3, customers_churned: "active in P-1, not in P"."""
    return active(tables, account, shift(p, -1)) and not active(tables, account, p)


def logo_churn_rate_pct(tables: Tables, p: Month) -> float | None:
    """SPEC §3: "logo_churn_rate_pct = 100 · churned / customers_start" (customers_start = #active in P-1); null when
    customers_start is 0 (a zero denominator)."""
    customers_start = len(customers(tables, shift(p, -1)))
    churned = sum(1 for a in tables.mrr if is_churned(tables, a, p))
    return 100.0 * churned / customers_start if customers_start else None


def revenue_metrics(tables: Tables, p: Month, gross_margin: float = 0.8) -> dict:
    """SPEC §3, customers and revenue, sentence by sentence:

    - "active(a, m) ⇔ mrr(a, m) > 0. customers_start = #active in P-1; customers_end = #active in P."
    - "logo_churn_rate_pct = 100 · churned / customers_start. customer_retention_rate_pct = 100 · (customers_end
      − new − reactivated) / customers_start (= 100 − churn)."
    - "mrr_start = Σ mrr(P-1); mrr_end = Σ mrr(P). For accounts active in both: mrr_expansion = Σ positive
      increases, mrr_contraction = Σ decreases (positive number). mrr_churned = Σ mrr(P-1) of churned accounts.
      mrr_new, mrr_reactivation = Σ mrr(P) of new / reactivated accounts."
    - "grr_pct = 100 · (mrr_start − contraction − churned) / mrr_start; nrr_pct = 100 · (mrr_start + expansion −
      contraction − churned) / mrr_start."
    - "grr_ttm_pct, nrr_ttm_pct: over accounts active in P-12: 100 · Σ min(mrr(P), mrr(P-12)) / Σ mrr(P-12) and
      100 · Σ mrr(P) / Σ mrr(P-12)."
    - "arpa = mrr_end / customers_end. cltv = arpa · gross_margin / (c / 100) with c the arithmetic mean of
      logo_churn_rate_pct over P, P-1 and P-2; gross_margin from config (default 0.8). If c is 0, or any of the
      three rates is null, the value is null ("no churn in window"), never infinite."
    A zero denominator gives null (SPEC §2).
    """
    prev, year_ago = shift(p, -1), shift(p, -12)
    accounts = sorted(tables.mrr)
    customers_start = sum(1 for a in accounts if active(tables, a, prev))
    customers_end = sum(1 for a in accounts if active(tables, a, p))
    new = [a for a in accounts if is_new(tables, a, p)]
    reactivated = [a for a in accounts if is_reactivated(tables, a, p)]
    churned = [a for a in accounts if is_churned(tables, a, p)]

    mrr_start = sum(mrr(tables, a, prev) for a in accounts)
    mrr_end = sum(mrr(tables, a, p) for a in accounts)
    expansion = contraction = 0.0
    for a in accounts:
        if active(tables, a, prev) and active(tables, a, p):
            change = mrr(tables, a, p) - mrr(tables, a, prev)
            if change > 0:
                expansion += change
            elif change < 0:
                contraction += -change
    mrr_churned = sum(mrr(tables, a, prev) for a in churned)
    mrr_new = sum(mrr(tables, a, p) for a in new)
    mrr_reactivation = sum(mrr(tables, a, p) for a in reactivated)

    base = [a for a in accounts if active(tables, a, year_ago)]
    base_mrr = sum(mrr(tables, a, year_ago) for a in base)
    kept = sum(min(mrr(tables, a, p), mrr(tables, a, year_ago)) for a in base)
    now_mrr = sum(mrr(tables, a, p) for a in base)

    arpa = mrr_end / customers_end if customers_end else None
    rates = [logo_churn_rate_pct(tables, shift(p, -back)) for back in (0, 1, 2)]
    if arpa is None or any(r is None for r in rates):
        cltv = None
    else:
        c = sum(rates) / 3  # type: ignore[arg-type]
        cltv = None if c == 0 else arpa * gross_margin / (c / 100)
    return {
        "customers_start": customers_start,
        "customers_end": customers_end,
        "customers_new": len(new),
        "customers_reactivated": len(reactivated),
        "customers_churned": len(churned),
        "logo_churn_rate_pct": 100.0 * len(churned) / customers_start if customers_start else None,
        "customer_retention_rate_pct": 100.0 * (customers_end - len(new) - len(reactivated)) / customers_start
        if customers_start else None,
        "mrr_start": mrr_start,
        "mrr_end": mrr_end,
        "mrr_expansion": expansion,
        "mrr_contraction": contraction,
        "mrr_churned": mrr_churned,
        "mrr_new": mrr_new,
        "mrr_reactivation": mrr_reactivation,
        "grr_pct": 100.0 * (mrr_start - contraction - mrr_churned) / mrr_start if mrr_start else None,
        "nrr_pct": 100.0 * (mrr_start + expansion - contraction - mrr_churned) / mrr_start if mrr_start else None,
        "grr_ttm_pct": 100.0 * kept / base_mrr if base_mrr else None,
        "nrr_ttm_pct": 100.0 * now_mrr / base_mrr if base_mrr else None,
        "arpa": arpa,
        "cltv": cltv,
    }


# -- surveys (SPEC §3, "Surveys (responses with responded_at in P)") -----------------------------------
def survey_metrics(tables: Tables, p: Month) -> dict:
    """Responses of every account with start(P) ≤ responded_at < end(P):

    - "NPS: promoters 9–10, passives 7–8, detractors 0–6. nps = 100 · (p − d) with p, d the promoter and
      detractor shares; nps_moe95 = 196 · sqrt((p + d − (p − d)²) / n). Keys: nps, nps_responses,
      nps_promoters_pct, nps_detractors_pct, nps_moe95."
    - "csat_pct = 100 · share of CSAT scores ≥ 4; csat_responses."
    - "ces_avg = mean CES score (1–7, higher = easier); ces_responses."
    No response: the counts are 0, every rate/mean null (SPEC §2).
    """
    in_p = [s for s in tables.surveys if start(p) <= s["at"] < end(p)]
    nps = [s["score"] for s in in_p if s["survey"] == "nps"]
    csat = [s["score"] for s in in_p if s["survey"] == "csat"]
    ces = [s["score"] for s in in_p if s["survey"] == "ces"]
    out: dict = {"nps_responses": len(nps), "csat_responses": len(csat), "ces_responses": len(ces)}
    if nps:
        n = len(nps)
        promoters = sum(1 for x in nps if 9 <= x <= 10) / n
        detractors = sum(1 for x in nps if 0 <= x <= 6) / n
        variance = promoters + detractors - (promoters - detractors) ** 2
        out |= {"nps": 100.0 * (promoters - detractors), "nps_promoters_pct": 100.0 * promoters,
                "nps_detractors_pct": 100.0 * detractors,
                "nps_moe95": 196.0 * math.sqrt(max(variance, 0.0) / n)}  # max: a -1e-17 rounding is 0
    else:
        out |= {"nps": None, "nps_promoters_pct": None, "nps_detractors_pct": None, "nps_moe95": None}
    out["csat_pct"] = 100.0 * sum(1 for x in csat if x >= 4) / len(csat) if csat else None
    out["ces_avg"] = sum(ces) / len(ces) if ces else None
    return out


# -- support (SPEC §3, "Support (`tickets`)") ---------------------------------------------------------------
def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def sla_counts(created_in_p: list[dict], p: Month, sla_hours: float) -> tuple[int, int]:
    """(met, missed) over tickets created in P: "resolved before end(P) → met iff resolved_at − created_at ≤
    sla_hours, else missed; unresolved at end(P) → missed iff end(P) − created_at > sla_hours, else left out"."""
    sla = timedelta(hours=sla_hours)
    met = missed = 0
    for t in created_in_p:
        if t["resolved"] is not None and t["resolved"] < end(p):
            if t["resolved"] - t["created"] <= sla:
                met += 1
            else:
                missed += 1
        elif end(p) - t["created"] > sla:
            missed += 1
    return met, missed


def support_metrics(tables: Tables, p: Month, sla_hours: float = 48.0) -> dict:
    """Every account's tickets, as of end(P) (SPEC §2: "A ticket resolved at or after end(P) is unresolved for P;
    a first response at or after end(P) is no response"):

    - "tickets_created = tickets with created_at in P."
    - "frt_median_hours = median of (first_response_at − created_at) in hours over tickets created in P that have
      a response before end(P)."
    - "resolution_median_hours = median of (resolved_at − created_at) in hours over tickets resolved in P."
    - "sla_met_pct = 100 · met / (met + missed) over tickets created in P: resolved before end(P) → met iff
      resolved_at − created_at ≤ sla_hours (config, default 48), else missed; unresolved at end(P) → missed iff
      end(P) − created_at > sla_hours, else left out."
    - "backlog_end = tickets created before the end of P and not resolved before the end of P."
    """
    created_in_p = [t for t in tables.tickets if start(p) <= t["created"] < end(p)]
    first_response = [hours(t["responded"] - t["created"]) for t in created_in_p
                      if t["responded"] is not None and t["responded"] < end(p)]
    resolution = [hours(t["resolved"] - t["created"]) for t in tables.tickets
                  if t["resolved"] is not None and start(p) <= t["resolved"] < end(p)]
    met, missed = sla_counts(created_in_p, p, sla_hours)
    backlog = sum(1 for t in tables.tickets
                  if t["created"] < end(p) and not (t["resolved"] is not None and t["resolved"] < end(p)))
    return {
        "tickets_created": len(created_in_p),
        "frt_median_hours": median(first_response),
        "resolution_median_hours": median(resolution),
        "sla_met_pct": 100.0 * met / (met + missed) if met + missed else None,
        "backlog_end": backlog,
    }


# -- feature adoption (SPEC §3, engagement) ---------------------------------------------------------------
def feature_adoption(tables: Tables, p: Month) -> dict | None:
    """SPEC: "feature_adoption_pct = {event: 100 · #customers active in P that used it in P / #customers active in P
    with ≥ 1 event}, one key per feature used by at least one such customer; null if there is none."
    Every event counts, whatever engagement.active_events says ("feature_adoption_pct and the session metrics
    count every event")."""
    now = customers(tables, p)
    users_of: dict[str, set[str]] = {}
    for account, _user, event, at in tables.events:
        if start(p) <= at < end(p) and account in now:
            users_of.setdefault(event, set()).add(account)
    with_events: set[str] = set()
    for accounts in users_of.values():
        with_events |= accounts
    if not with_events:
        return None
    return {event: 100.0 * len(accounts) / len(with_events) for event, accounts in users_of.items()}


# -- referrals (SPEC §3) ------------------------------------------------------------------------------------
def referral_metrics(tables: Tables, p: Month) -> dict:
    """SPEC: "Referrals: referral_rate_pct = 100 · distinct referrer_account_id among customers active in P with
    referred_at in P / customers_end; referrals = count in P; referral_conversion_pct = 100 · converted share of
    those."  ``referrals`` counts every referral with referred_at in P (the sentence does not say "customers");
    "those" are these referrals. No referrals table: every key null ("not available", never 0)."""
    if tables.referrals is None:
        return {"referral_rate_pct": None, "referrals": None, "referral_conversion_pct": None}
    in_p = [r for r in tables.referrals if start(p) <= r["at"] < end(p)]
    now = customers(tables, p)
    referrers = {r["referrer"] for r in in_p if r["referrer"] in now}
    return {
        "referral_rate_pct": 100.0 * len(referrers) / len(now) if now else None,
        "referrals": len(in_p),
        "referral_conversion_pct": 100.0 * sum(1 for r in in_p if r["converted"]) / len(in_p) if in_p else None,
    }


# -- onboarding (SPEC §3, "Onboarding (`accounts`)") ----------------------------------------------------------
def onboarding_metrics(tables: Tables, p: Month) -> dict:
    """SPEC: "onboarding_completion_pct = 100 · share of accounts with signup_date in [start(P) − 30 days, end(P) − 30
    days) whose onboarded_at ≤ signup_date + 30 days; onboarding_median_days = median (onboarded_at −
    signup_date) in days over accounts with onboarded_at in P."
    Every account counts (customer or not). Dates are UTC days; an onboarded_at on or after end(P) does not exist
    for P (the as-of rule; for the completion share it cannot matter: signup_date + 30 days < end(P))."""
    first, last = start(p).date(), end(p).date()
    window = [a for a in tables.accounts if first - timedelta(days=30) <= a["signup"] < last - timedelta(days=30)]
    done = [a for a in window if a["onboarded"] is not None and a["onboarded"] < last
            and a["onboarded"] <= a["signup"] + timedelta(days=30)]
    days = [float((a["onboarded"] - a["signup"]).days) for a in tables.accounts
            if a["onboarded"] is not None and first <= a["onboarded"] < last]
    return {"onboarding_completion_pct": 100.0 * len(done) / len(window) if window else None,
            "onboarding_median_days": median(days)}


# -- sessions ---------------------------------------------------------------------------------------
def sessions_of(tables: Tables, p: Month, gap_minutes: float) -> list[tuple[tuple[str, str], float]]:
    """[(user, duration in minutes)] of the sessions of P: per user, the distinct instants before end(P)
    in order; t_i starts a session iff i = 1 or t_i − t_(i−1) > gap; a session belongs to the month
    of its first instant and lasts from its first to its last instant."""
    instants: dict[tuple[str, str], set[datetime]] = {}
    for account, user, _event, at in tables.events:
        if at < end(p):
            instants.setdefault((account, user), set()).add(at)
    gap = timedelta(minutes=gap_minutes)
    found = []
    for user, times in instants.items():
        ordered = sorted(times)
        first = last = ordered[0]
        for t in ordered[1:] + [None]:
            if t is not None and t - last <= gap:
                last = t
                continue
            if start(p) <= first < end(p):
                found.append((user, (last - first).total_seconds() / 60.0))
            if t is not None:
                first = last = t
    return found


def median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def session_metrics(tables: Tables, p: Month, gap_minutes: float) -> dict:
    found = sessions_of(tables, p, gap_minutes)
    durations = [minutes for _, minutes in found]
    users = len({user for user, _ in found})
    return {
        "sessions": len(found),
        "session_minutes_median": median(durations),
        "session_minutes_avg": sum(durations) / len(durations) if durations else None,
        "session_users": users,
        "sessions_per_user_avg": len(found) / users if users else None,
        "time_in_product_hours_per_user": sum(durations) / 60.0 / users if users else None,
    }


# -- engagement under the active-user definition -------------------------------------------------------
def active_events_in(tables: Tables, p: Month, active_events: list[str] | None) -> list[tuple[str, str, datetime]]:
    """(account, user, instant) of the events in P that make a user active (every event when None)."""
    return [(a, u, t) for a, u, e, t in tables.events
            if start(p) <= t < end(p) and (active_events is None or e in active_events)]


def engagement_metrics(tables: Tables, p: Month, active_events: list[str] | None) -> dict:
    rows = active_events_in(tables, p, active_events)
    mau = len({(a, u) for a, u, _ in rows})
    daily = [len({(a, u) for a, u, t in rows if (t - start(p)).days == d}) for d in range(days_in(p))]
    dau = sum(daily) / days_in(p)
    now = customers(tables, p)
    with_events = {a for a, _, _ in rows} & now
    return {
        "mau": mau,
        "dau_avg": dau,
        "stickiness_pct": 100.0 * dau / mau if mau else None,
        "active_accounts_pct": 100.0 * len(with_events) / len(now) if now else None,
    }


# -- support CSAT -------------------------------------------------------------------------------------
def support_csat(tables: Tables, p: Month) -> dict:
    rated = [s for s in tables.surveys if s["survey"] == "csat" and s["ticket"] and start(p) <= s["at"] < end(p)]
    good = sum(1 for s in rated if s["score"] >= 4)
    return {"support_csat_responses": len(rated),
            "support_csat_pct": 100.0 * good / len(rated) if rated else None}


# -- health (per customer active in P) and the backtest --------------------------------------------
@dataclass(frozen=True)
class HealthSettings:
    sla_hours: float = 48.0
    weights: tuple[float, float, float, float] = (0.40, 0.30, 0.20, 0.10)  # usage, feedback, support, payment
    green: float = 75.0
    amber: float = 50.0


def usage(rows: list[tuple[str, str, datetime]], account: str, p: Month) -> float:
    """100 · days in P with ≥ 1 (active) event of the account / days in P; ``rows``: active_events_in(P)."""
    days = {(t - start(p)).days for a, _, t in rows if a == account}
    return 100.0 * len(days) / days_in(p)


def feedback(tables: Tables, account: str, p: Month) -> float:
    """Latest NPS response in [end(P) − 365 days, end(P)) (ties: the lower score): 100 / 50 / 0; none 50."""
    window = [s for s in tables.surveys if s["account"] == account and s["survey"] == "nps"
              and end(p) - timedelta(days=365) <= s["at"] < end(p)]
    if not window:
        return 50.0
    latest = max(s["at"] for s in window)
    score = min(s["score"] for s in window if s["at"] == latest)
    return 100.0 if score >= 9 else 50.0 if score >= 7 else 0.0


def support(tables: Tables, account: str, p: Month, sla_hours: float) -> float:
    """100 · met / (met + missed) over the account's tickets created in P (sla_met_pct's rule); none 100."""
    created_in_p = [t for t in tables.tickets if t["account"] == account and start(p) <= t["created"] < end(p)]
    met, missed = sla_counts(created_in_p, p, sla_hours)
    return 100.0 if met + missed == 0 else 100.0 * met / (met + missed)


def payment(tables: Tables, account: str, p: Month) -> float:
    """100 · share of invoices due in [end(P) − 90 days, end(P)) paid on or before the due date
    (and before end(P)); none 100."""
    last = end(p).date()
    due = [i for i in tables.invoices if i["account"] == account and last - timedelta(days=90) <= i["due"] < last]
    if not due:
        return 100.0
    on_time = sum(1 for i in due if i["paid"] is not None and i["paid"] <= i["due"] and i["paid"] < last)
    return 100.0 * on_time / len(due)


def health_scores(tables: Tables, p: Month, active_events: list[str] | None,
                  settings: HealthSettings) -> dict[str, float]:
    scores = {}
    rows = active_events_in(tables, p, active_events)
    for account in sorted(customers(tables, p)):
        parts = (usage(rows, account, p), feedback(tables, account, p),
                 support(tables, account, p, settings.sla_hours), payment(tables, account, p))
        scores[account] = sum(w * c for w, c in zip(settings.weights, parts, strict=True))
    return scores


def band(health: float, settings: HealthSettings) -> str:
    rounded = round(health, 6)
    return "green" if rounded >= settings.green else "amber" if rounded >= settings.amber else "red"


def health_metrics(tables: Tables, p: Month, active_events: list[str] | None, settings: HealthSettings) -> dict:
    scores = health_scores(tables, p, active_events, settings)
    n = len(scores)
    out: dict = {"health_avg": sum(scores.values()) / n if n else None}
    for name in ("green", "amber", "red"):
        out[f"health_{name}_pct"] = 100.0 * sum(1 for h in scores.values() if band(h, settings) == name) / n \
            if n else None
    return out


def backtest(tables: Tables, p: Month, months: int, active_events: list[str] | None,
             settings: HealthSettings) -> dict:
    """Population: customers active in L = P − h with their health for L; churned iff not active in P.
    AUC: over every (churned, retained) pair, 1 if the churned one had the lower health at L, ½ if equal."""
    at_l = health_scores(tables, shift(p, -months), active_events, settings)
    churned = {a for a in at_l if not active(tables, a, p)}
    retained = [a for a in at_l if a not in churned]
    wins = 0.0
    for c in churned:
        for r in retained:
            hc, hr = round(at_l[c], 6), round(at_l[r], 6)
            wins += 1.0 if hc < hr else 0.5 if hc == hr else 0.0
    pairs = len(churned) * len(retained)
    out: dict = {"health_backtest_customers": len(at_l), "health_backtest_churned": len(churned),
                 "health_backtest_auc": wins / pairs if pairs else None}
    for name in ("green", "amber", "red"):
        members = [a for a in at_l if band(at_l[a], settings) == name]
        out[f"health_backtest_{name}_churn_pct"] = \
            100.0 * sum(1 for a in members if a in churned) / len(members) if members else None
    return out


# -- everything ---------------------------------------------------------------------------------------
def reference_metrics(folder: Path, period: str, gap_minutes: float = 30.0, active_events: list[str] | None = None,
                      backtest_months: int = 3, settings: HealthSettings = HealthSettings(),
                      gross_margin: float = 0.8) -> dict:
    """Every key of SPEC §3 for ``period`` ('YYYY-MM'), from the tables in ``folder``; ``settings.sla_hours``
    is also sla_met_pct's SLA (config sla_hours)."""
    tables = read_tables(folder)
    p = month_of(period)
    logo, money = cohort_retention(tables, p)
    out: dict = revenue_metrics(tables, p, gross_margin)
    out |= {"quick_ratio": quick_ratio(tables, p), "cohort_logo_retention_pct": logo,
            "cohort_mrr_retention_pct": money}
    out |= survey_metrics(tables, p)
    out |= support_metrics(tables, p, settings.sla_hours)
    out["feature_adoption_pct"] = feature_adoption(tables, p)
    out |= referral_metrics(tables, p)
    out |= onboarding_metrics(tables, p)
    out |= session_metrics(tables, p, gap_minutes)
    out |= engagement_metrics(tables, p, active_events)
    out |= support_csat(tables, p)
    out |= health_metrics(tables, p, active_events, settings)
    out |= backtest(tables, p, backtest_months, active_events, settings)
    return out


def close(expected: object, actual: object, tolerance: float = 1e-6) -> bool:
    """Equal up to ``tolerance`` (numbers), key for key (objects), element for element (lists); null = null."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, dict):
        return isinstance(actual, dict) and expected.keys() == actual.keys() and \
            all(close(expected[k], actual[k], tolerance) for k in expected)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and \
            all(close(e, a, tolerance) for e, a in zip(expected, actual, strict=True))
    return math.isclose(float(expected), float(actual), rel_tol=0.0, abs_tol=tolerance)  # type: ignore[arg-type]
