"""A realistic, deterministic synthetic company for demos, tests and benchmarks.

``generate_demo(out, seed, scale, end)`` writes the seven SPEC §1 tables for 24
months ending with ``end`` (default: last complete month). The company has three
segments with different churn, expansion and ticket behaviour, seasonality,
reactivations, survey answers with comments, long-tailed support times, ~5·10^6
usage events per unit of ``scale`` over 30 features, referrals, invoices with
late payments, and onboarding dates. Small tables are CSV (easy to open), events
are Parquet, one row group per month so DuckDB can skip months it does not need.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .metrics.surveys import nps_category
from .periods import Period
from .progress import say

MONTHS = 24
EVENTS_PER_SCALE = 5_000_000

# share, median MRR, churn/month, expand, contract, users (lo, hi), tickets/month, onboard days
SEGMENTS: dict[str, dict[str, Any]] = {
    "SMB": dict(share=0.62, mrr=320.0, churn=0.030, expand=0.03, contract=0.015, users=(2, 8), tickets=0.6,
                onboard=9),
    "Mid-Market": dict(share=0.28, mrr=2400.0, churn=0.014, expand=0.05, contract=0.02, users=(8, 30), tickets=1.8,
                       onboard=16),
    "Enterprise": dict(share=0.10, mrr=11500.0, churn=0.006, expand=0.07, contract=0.02, users=(30, 120),
                       tickets=4.5, onboard=27),
}
# churn is higher around renewals at the year end and in January budget resets
SEASON = np.array([1.35, 1.05, 0.95, 0.9, 0.9, 0.95, 1.0, 0.9, 0.95, 1.0, 1.05, 1.3])
FEATURES = [
    "dashboard_view", "report_export", "search", "login", "project_create", "task_update", "comment_add",
    "file_upload", "integration_sync", "api_call", "notification_read", "calendar_view", "workflow_run",
    "template_use", "user_invite", "settings_change", "billing_view", "automation_create", "chart_create",
    "filter_save", "bulk_edit", "mobile_open", "webhook_create", "sso_login", "audit_log_view",
    "custom_field_add", "data_import", "ai_assist", "goal_track", "portfolio_view",
]
CORE = 6  # the first features every customer uses
REGIONS = ["EMEA", "North America", "APAC", "LATAM"]
CSMS = ["Alex Morgan", "Priya Shah", "Jonas Weber", "Maria García", "Kenji Sato", "Chloé Dubois"]
PLANS = {"SMB": ["Starter", "Team"], "Mid-Market": ["Business", "Team"], "Enterprise": ["Enterprise"]}
NAME_A = ["Acme", "Blue", "Nordic", "Summit", "Bright", "Cedar", "Atlas", "Nova", "Pioneer", "Harbor", "Quantum",
          "Silver", "Apex", "Evergreen", "Granite", "Lumen", "Orbit", "Redwood", "Sterling", "Vertex", "Zenith",
          "Müller & Söhne", "O'Brien", "Crème", "Tiger", "Falcon", "Maple", "Iron", "Coral", "Aurora"]
NAME_B = ["Analytics", "Logistics", "Health", "Labs", "Foods", "Systems", "Retail", "Energy", "Media", "Capital",
          "Robotics", "Learning", "Travel", "Security", "Studios", "Networks", "Bio", "Motors", "Partners", "Cloud"]
NAME_C = ["Inc.", "GmbH", "Ltd", "LLC", "S.A.", "AB", "BV", "Co.", "Group", "K.K."]
COMMENTS = {
    "promoter": ["Love the new dashboards — our team lives in them.", "Support is fast and genuinely helpful.",
                 "Saved us hours every week on reporting.", "The integration with our CRM just works.",
                 "Best tool we've adopted this year <3", "Great onboarding, our CSM was fantastic."],
    "passive": ["Good product, but exports are slow for big projects.", "Does the job. Pricing is a bit steep.",
                "Would like more control over permissions.", "Solid, though the mobile app lags behind.",
                "Fine overall; R&D seems focused on features we don't use."],
    "detractor": ["We lost data during the last sync & nobody called back.", "Too expensive for what we use.",
                  "Performance has degraded — reports take minutes to load.",
                  "Support tickets sit for days without an answer.",
                  "Missing SSO is a blocker for our \"security\" team.",
                  "We're evaluating alternatives before renewal."],
}


def _company_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(NAME_C)}"
        if name in seen:
            name = f"{name} ({len(names)})"
        seen.add(name)
        names.append(name)
    return names


def generate_demo(out: str | Path, seed: int = 7, scale: float = 1.0, end: Period | None = None,
                  accounts: int = 2000) -> Path:
    """Write the demo data source to ``out`` and return its path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    end = end or Period.last_complete()
    periods = end.shift(-(MONTHS - 1)).range_to(end)
    extracted = end.end_date + pd.Timedelta(days=20)  # data pulled 20 days after the last month

    # --- accounts: an existing base plus monthly sign-ups that grow over time ---
    seg_names = list(SEGMENTS)
    segment = rng.choice(seg_names, size=accounts, p=[SEGMENTS[s]["share"] for s in seg_names])
    existing = int(accounts * 0.55)
    first = periods[0].start_date
    signup = np.empty(accounts, dtype="datetime64[D]")
    days_before = pd.to_timedelta(rng.integers(1, 3 * 365, existing), unit="D")
    signup[:existing] = (first - days_before).values.astype("datetime64[D]")
    growth = np.linspace(0.7, 1.3, MONTHS) * np.array([SEASON[p.month - 1] ** -1 for p in periods])
    month_of_signup = rng.choice(MONTHS, size=accounts - existing, p=growth / growth.sum())
    offsets = rng.integers(0, 28, accounts - existing)
    signup[existing:] = np.array([periods[m].start_date + pd.Timedelta(days=int(d))
                                  for m, d in zip(month_of_signup, offsets, strict=True)],
                                 dtype="datetime64[D]")
    ids = np.array([f"ACC-{i:05d}" for i in range(1, accounts + 1)])
    median_days = np.array([SEGMENTS[s]["onboard"] for s in segment])
    onboard_days = np.maximum(1, rng.gamma(2.0, median_days / 1.7)).astype(int)
    onboarded = signup + onboard_days.astype("timedelta64[D]")
    onboarded_ts = pd.to_datetime(onboarded)
    onboarded_ts = pd.Series(onboarded_ts).where(onboarded_ts < extracted)
    accounts_df = pd.DataFrame({
        "account_id": ids, "name": _company_names(rng, accounts), "segment": segment,
        "signup_date": pd.to_datetime(signup).strftime("%Y-%m-%d"),
        "region": rng.choice(REGIONS, accounts, p=[0.38, 0.37, 0.17, 0.08]),
        "csm": rng.choice(CSMS, accounts), "plan": [rng.choice(PLANS[s]) for s in segment],
        "onboarded_at": onboarded_ts.dt.strftime("%Y-%m-%d"),
    })

    # --- revenue: month-by-month simulation of churn, expansion, contraction, reactivation ---
    params = {k: np.array([SEGMENTS[s][k] for s in segment]) for k in ("mrr", "churn", "expand", "contract")}
    base_mrr = np.round(params["mrr"] * rng.lognormal(0, 0.45, accounts) / 10) * 10
    propensity = rng.beta(5, 2, accounts)  # latent engagement/happiness, 0..1
    mrr = np.zeros(accounts)
    ever = np.zeros(accounts, dtype=bool)
    rows = []
    signup_month = pd.to_datetime(signup).to_period("M")
    for i, p in enumerate(periods):
        joined = (signup_month <= pd.Period(str(p), "M")) & ~ever
        mrr[joined] = base_mrr[joined]
        ever |= joined
        active = mrr > 0
        if i > 0:
            hazard = params["churn"] * SEASON[p.month - 1] * (1.6 - propensity)
            churn = active & ~joined & (rng.random(accounts) < hazard)
            expand = active & ~churn & ~joined & (rng.random(accounts) < params["expand"] * (0.5 + propensity))
            contract = active & ~churn & ~expand & ~joined & (rng.random(accounts) < params["contract"])
            mrr[expand] = np.round(mrr[expand] * rng.uniform(1.1, 1.45, expand.sum()) / 10) * 10
            mrr[contract] = np.round(mrr[contract] * rng.uniform(0.65, 0.9, contract.sum()) / 10) * 10
            back = ~active & ever & ~joined & (rng.random(accounts) < 0.035)
            mrr[back] = np.round(base_mrr[back] * rng.uniform(0.8, 1.1, back.sum()) / 10) * 10
            mrr[churn] = 0.0
        live = mrr > 0
        rows.append(pd.DataFrame({"account_id": ids[live], "month": str(p), "mrr": mrr[live]}))
    revenue_df = pd.concat(rows, ignore_index=True)
    active_by_month = {m: set(g["account_id"]) for m, g in revenue_df.groupby("month")}
    index_of = {a: i for i, a in enumerate(ids)}

    # in-app CSAT (no ticket) from a stream of its own, so the tables drawn from ``rng`` stay as they were
    in_app = np.random.default_rng([seed, 1])
    surveys_df, tickets_df, referrals_df, invoices_df = _activity(rng, periods, active_by_month, index_of, segment,
                                                                  propensity, revenue_df, extracted, in_app)
    out.joinpath("accounts.csv").write_text(accounts_df.to_csv(index=False), encoding="utf-8")
    revenue_df.to_csv(out / "revenue.csv", index=False)
    surveys_df.to_csv(out / "surveys.csv", index=False)
    tickets_df.to_csv(out / "tickets.csv", index=False)
    referrals_df.to_csv(out / "referrals.csv", index=False)
    invoices_df.to_csv(out / "invoices.csv", index=False)
    say(f"wrote {accounts:,} accounts, {len(revenue_df):,} revenue rows, {len(surveys_df):,} survey answers, "
         f"{len(tickets_df):,} tickets, {len(invoices_df):,} invoices")
    n_events = _events(rng, periods, active_by_month, index_of, segment, propensity, scale, out / "events.parquet",
                       np.random.default_rng([seed, 2]))
    say(f"wrote {n_events:,} usage events to {out / 'events.parquet'}")
    return out


def _times_in(rng, start: pd.Timestamp, n: int, days: int) -> pd.DatetimeIndex:
    """n timestamps in a month, weighted to working hours."""
    day = rng.integers(0, days, n)
    hour = np.clip(rng.normal(13.5, 3.2, n), 0, 23.99)
    return start + pd.to_timedelta(day, unit="D") + pd.to_timedelta(hour * 3600, unit="s").round("s")


def _fmt(stamps) -> pd.Series:
    return pd.Series(stamps).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _activity(rng, periods, active_by_month, index_of, segment, propensity, revenue_df, extracted, in_app):
    surveys, tickets, referrals, invoices, product = [], [], [], [], []
    seen = 0  # tickets generated so far: a ticket's number until the ticket ids are given out
    for p in periods:
        start = p.start_date
        accts = np.array(sorted(active_by_month.get(str(p), ())))
        idx = np.array([index_of[a] for a in accts], dtype=int)
        seg = segment[idx]
        prop = propensity[idx]
        # NPS: ~9% of customers answer each month, happier accounts score higher
        ask = rng.random(len(accts)) < 0.09
        n = int(ask.sum())
        score = np.clip(np.round(rng.normal(4.5 + 5.5 * prop[ask], 1.7)), 0, 10).astype(int)
        surveys.append(pd.DataFrame({"account_id": accts[ask], "survey": "nps", "score": score,
                                     "responded_at": _fmt(_times_in(rng, start, n, p.days))}))
        # CES: ~4% of customers
        ask = rng.random(len(accts)) < 0.04
        ces = np.clip(np.round(rng.normal(3.2 + 3.2 * prop[ask], 1.0)), 1, 7).astype(int)
        surveys.append(pd.DataFrame({"account_id": accts[ask], "survey": "ces", "score": ces,
                                     "responded_at": _fmt(_times_in(rng, start, int(ask.sum()), p.days))}))
        # tickets: Poisson per customer by segment; long-tailed response and resolution times
        lam = np.array([SEGMENTS[s]["tickets"] for s in seg]) * (1.3 - 0.5 * prop)
        count = rng.poisson(lam)
        owner = np.repeat(accts, count)
        created = _times_in(rng, start, len(owner), p.days)
        frt = rng.lognormal(np.log(3.0), 1.1, len(owner))
        res = frt + rng.lognormal(np.log(22.0), 1.0, len(owner))
        first = created + pd.to_timedelta(frt * 3600, unit="s").round("s")
        resolved = created + pd.to_timedelta(res * 3600, unit="s").round("s")
        open_still = rng.random(len(owner)) < 0.01
        resolved = pd.Series(resolved).where(~open_still & (resolved < extracted))
        first = pd.Series(first).where(first < extracted)
        number = np.arange(seen, seen + len(owner))
        seen += len(owner)
        frame = pd.DataFrame({"_number": number, "account_id": owner, "created_at": _fmt(created),
                              "first_response_at": _fmt(first),
                              "resolved_at": _fmt(resolved),
                              "priority": rng.choice(["low", "normal", "high", "urgent"], len(owner),
                                                     p=[.3, .45, .2, .05]),
                              "channel": rng.choice(["email", "chat", "phone", "portal"], len(owner),
                                                    p=[.4, .3, .1, .2])})
        tickets.append(frame)
        # CSAT after ~35% of resolved tickets, a day later
        done = resolved.notna().to_numpy() & (rng.random(len(owner)) < 0.35)
        owner_prop = propensity[[index_of[a] for a in owner[done]]] if done.any() else np.array([])
        slow = res[done] > 48
        csat = np.clip(np.round(rng.normal(3.2 + 1.8 * owner_prop - 0.8 * slow, 0.8)), 1, 5).astype(int)
        when = pd.Series(resolved[done]) + pd.Timedelta(hours=20)
        keep = (when < extracted).to_numpy()
        surveys.append(pd.DataFrame({"account_id": owner[done][keep], "survey": "csat", "score": csat[keep],
                                     "responded_at": _fmt(when[keep]), "_number": number[done][keep]}))
        # in-app CSAT: ~3% of customers rate the product itself each month (no ticket)
        ask = in_app.random(len(accts)) < 0.03
        rating = np.clip(np.round(in_app.normal(3.0 + 1.8 * prop[ask], 0.9)), 1, 5).astype(int)
        product.append(pd.DataFrame({"account_id": accts[ask], "survey": "csat", "score": rating,
                                     "responded_at": _fmt(_times_in(in_app, start, int(ask.sum()), p.days))}))
        # referrals: rare, from happy customers
        refs = rng.poisson(0.012 + 0.03 * prop ** 3)
        who = np.repeat(accts, refs)
        referrals.append(pd.DataFrame({"referrer_account_id": who,
                                       "referred_at": _fmt(_times_in(rng, start, len(who), p.days)),
                                       "converted": np.where(rng.random(len(who)) < 0.27, "true", "false")}))
        # invoices: issued on the 1st, due in 30 days; most paid early, some late, few unpaid
        month_rev = revenue_df[revenue_df["month"] == str(p)]
        due = start + pd.Timedelta(days=30)
        inv_prop = propensity[[index_of[a] for a in month_rev["account_id"]]]
        lateness = np.where(rng.random(len(month_rev)) < 0.10 + 0.25 * (1 - inv_prop),
                            rng.integers(1, 45, len(month_rev)), -rng.integers(0, 25, len(month_rev)))
        paid = pd.Series(due + pd.to_timedelta(lateness, unit="D"))
        paid = paid.where((paid < extracted) & (rng.random(len(month_rev)) > 0.01))
        invoices.append(pd.DataFrame({"account_id": month_rev["account_id"].to_numpy(),
                                      "due_date": due.strftime("%Y-%m-%d"),
                                      "paid_date": paid.dt.strftime("%Y-%m-%d").to_numpy(),
                                      "amount": month_rev["mrr"].to_numpy()}))

    surveys_df = pd.concat(surveys, ignore_index=True).sort_values("responded_at", kind="stable", ignore_index=True)
    sentiment = nps_category(surveys_df["score"])
    with_comment = (surveys_df["survey"] == "nps").to_numpy() & (rng.random(len(surveys_df)) < 0.4)
    surveys_df["comment"] = [rng.choice(COMMENTS[s]) if c else None
                             for s, c in zip(sentiment, with_comment, strict=True)]
    surveys_df["contact"] = [f"user{rng.integers(1, 60)}@{a.lower()}.example" for a in surveys_df["account_id"]]
    in_app_df = pd.concat(product, ignore_index=True)
    in_app_df["contact"] = [f"user{in_app.integers(1, 60)}@{a.lower()}.example" for a in in_app_df["account_id"]]
    surveys_df = pd.concat([surveys_df, in_app_df], ignore_index=True).sort_values("responded_at", kind="stable",
                                                                                   ignore_index=True)
    surveys_df.insert(0, "response_id", [f"R-{i:07d}" for i in range(1, len(surveys_df) + 1)])
    tickets_df = pd.concat(tickets, ignore_index=True).sort_values("created_at", kind="stable", ignore_index=True)
    tickets_df.insert(0, "ticket_id", [f"T-{i:07d}" for i in range(1, len(tickets_df) + 1)])
    # a CSAT answered after a ticket names it (surveys.ticket_id): support CSAT
    ticket_of = dict(zip(tickets_df.pop("_number"), tickets_df["ticket_id"], strict=True))
    surveys_df["ticket_id"] = surveys_df.pop("_number").map(ticket_of)
    referrals_df = pd.concat(referrals, ignore_index=True)
    referrals_df.insert(0, "referral_id", [f"REF-{i:05d}" for i in range(1, len(referrals_df) + 1)])
    invoices_df = pd.concat(invoices, ignore_index=True)
    invoices_df.insert(0, "invoice_id", [f"INV-{i:07d}" for i in range(1, len(invoices_df) + 1)])
    return surveys_df, tickets_df, referrals_df, invoices_df


def _in_sessions(hours: np.ndarray, count: np.ndarray, clock: np.random.Generator) -> np.ndarray:
    """Seconds into the day of each event: a user's events of one day make one visit.

    ``hours`` holds a time of day (seconds, around working hours) per event and ``count`` the
    events per user-day, in order; the day's visit starts at the time of its first event and
    each next event follows the one before by a few minutes (exponential, mean 4 min).
    """
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    follow = clock.exponential(240.0, len(hours))
    follow[first] = 0.0
    elapsed = np.cumsum(follow)
    day_of_event = np.repeat(np.arange(len(count)), count)
    into_visit = elapsed - elapsed[first][day_of_event]
    return np.clip(hours[first][day_of_event] + into_visit, 0, 86399).astype(np.int64)


def _events(rng, periods, active_by_month, index_of, segment, propensity, scale, path: Path,
            clock: np.random.Generator) -> int:
    """Usage events, generated month by month and streamed to one Parquet file; ``clock`` spaces a
    visit's events (a stream apart, so who used what on which day is drawn as before)."""
    n_accounts = len(segment)
    lo = np.array([SEGMENTS[s]["users"][0] for s in segment])
    hi = np.array([SEGMENTS[s]["users"][1] for s in segment])
    seats = rng.integers(lo, hi + 1)
    user_offset = np.concatenate([[0], np.cumsum(seats)])
    user_owner = np.repeat(np.arange(n_accounts), seats)
    user_activity = rng.beta(1.3, 3.0, len(user_owner))  # how often each user shows up
    account_ids = pa.array([f"ACC-{i:05d}" for i in range(1, n_accounts + 1)])
    user_ids = pa.array([f"U-{i:06d}" for i in range(len(user_owner))])
    features = pa.array(FEATURES)
    popularity = 1.0 / np.arange(1, len(FEATURES) + 1) ** 0.9
    popularity /= popularity.sum()
    # each account adopts the core features plus a propensity-driven share of the rest
    adopted = rng.random((n_accounts, len(FEATURES))) < (0.15 + 0.75 * propensity[:, None])
    adopted[:, :CORE] = True

    # calibrate user-days so that the total lands near EVENTS_PER_SCALE · scale
    month_users = [np.concatenate([np.arange(user_offset[index_of[a]], user_offset[index_of[a] + 1])
                                   for a in sorted(active_by_month.get(str(p), ()))] or [np.array([], int)])
                   for p in periods]
    expected_days = sum((user_activity[u] * propensity[user_owner[u]] * 0.55 * p.days).sum()
                        for u, p in zip(month_users, periods, strict=True))
    per_day = max(EVENTS_PER_SCALE * scale / max(expected_days, 1.0), 1.0)
    schema = pa.schema([("account_id", pa.dictionary(pa.int32(), pa.string())),
                        ("user_id", pa.dictionary(pa.int32(), pa.string())),
                        ("event", pa.dictionary(pa.int8(), pa.string())),
                        ("occurred_at", pa.timestamp("us", tz="UTC"))])
    total = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for users, p in zip(month_users, periods, strict=True):
            # some paying customers do not log in at all in a month (more so the unhappy ones)
            dormant = rng.random(n_accounts) < 0.03 + 0.2 * (1 - propensity) ** 2
            prob = np.clip(user_activity[users] * propensity[user_owner[users]] * 0.55, 0, 1)
            prob[dormant[user_owner[users]]] = 0.0
            days_active = rng.binomial(p.days, prob)
            ud_user = np.repeat(users, days_active)
            ud_day = rng.integers(0, p.days, len(ud_user))
            count = 1 + rng.poisson(per_day - 1, len(ud_user))
            ev_user = np.repeat(ud_user, count)
            ev_day = np.repeat(ud_day, count)
            owner = user_owner[ev_user]
            feature = rng.choice(len(FEATURES), size=len(ev_user), p=popularity)
            not_adopted = ~adopted[owner, feature]
            feature[not_adopted] = feature[not_adopted] % CORE
            seconds = _in_sessions(rng.normal(13.5 * 3600, 3.3 * 3600, len(ev_user)), count, clock)
            start_us = int(pd.Timestamp(p.start_date).value // 1000)
            stamps = start_us + (ev_day.astype(np.int64) * 86400 + seconds) * 1_000_000
            order = np.argsort(stamps, kind="stable")
            table = pa.table({
                "account_id": pa.DictionaryArray.from_arrays(pa.array(owner[order].astype(np.int32)), account_ids),
                "user_id": pa.DictionaryArray.from_arrays(pa.array(ev_user[order].astype(np.int32)), user_ids),
                "event": pa.DictionaryArray.from_arrays(pa.array(feature[order].astype(np.int8)), features),
                "occurred_at": pa.array(stamps[order], type=pa.timestamp("us", tz="UTC")),
            }, schema=schema)
            writer.write_table(table, row_group_size=1_000_000)
            total += len(ev_user)
    return total
