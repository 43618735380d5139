"""Customers, MRR movements, retention and lifetime value (SPEC §3, from ``revenue``).

The functions work on the *MRR matrix* (:func:`mrr_matrix`): one row per account,
one column per month 'YYYY-MM', MRR in currency/month, 0 where the revenue table
has no row (a missing row means MRR 0). Built once, it makes every month a column
lookup, so 13-month trends and 24-month backfills stay cheap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..memo import remembered
from ..periods import Period
from .base import MetricSet, pct


def mrr_matrix(revenue: pd.DataFrame) -> pd.DataFrame:
    """Accounts × months MRR from the validated long table (account_id, month, mrr).

    Built once per revenue frame and remembered while that frame lives (:mod:`csreport.memo`): a
    report computes the company, every segment and the comparison months from the same frames (a
    24-month backfill asked for the same pivot 96 times). Callers only read the matrix.
    """
    return remembered(revenue, "mrr_matrix", lambda: _pivot(revenue))


def _pivot(revenue: pd.DataFrame) -> pd.DataFrame:
    if revenue.empty:
        return pd.DataFrame(index=pd.Index([], name="account_id", dtype=object), columns=pd.Index([], dtype=object),
                            dtype=float)
    wide = revenue.pivot_table(index="account_id", columns="month", values="mrr", aggfunc="sum", fill_value=0.0,
                               observed=True)
    wide.columns = [str(c) for c in wide.columns]
    wide.index = pd.Index([str(a) for a in wide.index], name="account_id", dtype=object)
    return wide.sort_index(axis=1)


def mrr_by_account(matrix: pd.DataFrame, period: Period) -> pd.Series:
    """MRR of every account in ``period`` (currency/month); 0 for months the data does not cover."""
    month = str(period)
    if month in matrix.columns:
        return matrix[month]
    return pd.Series(0.0, index=matrix.index)


def active_accounts(matrix: pd.DataFrame, period: Period) -> set[str]:
    """active(a, m) ⇔ mrr(a, m) > 0."""
    mrr = mrr_by_account(matrix, period)
    return set(mrr.index[mrr > 0])


def movements(matrix: pd.DataFrame, period: Period) -> pd.DataFrame:
    """One row per account active in P-1 or P: mrr_previous, mrr_current and its movement.

    movement is one of
      new          active in P, never active before P
      reactivated  active in P, not in P-1, active in some month before P-1
      retained     active in P-1 and in P
      churned      active in P-1, not in P
    """
    # on the matrix's numpy arrays: the rules below on every account at once, then one frame (row
    # filters and label assignments on pandas frames cost more than the arithmetic here)
    previous = mrr_by_account(matrix, period.previous).to_numpy(dtype=float)
    current = mrr_by_account(matrix, period).to_numpy(dtype=float)
    was, now = previous > 0, current > 0
    earlier = matrix.columns < str(period.previous)
    was_active_earlier = (matrix.to_numpy(dtype=float)[:, earlier] > 0).any(axis=1)
    movement = np.select([was & now, was & ~now, ~was & now & was_active_earlier],
                         ["retained", "churned", "reactivated"], "new")
    keep = was | now
    return pd.DataFrame({"mrr_previous": previous[keep], "mrr_current": current[keep],
                         "movement": pd.array(movement[keep], dtype="str")},
                        index=pd.Index(matrix.index[keep], name="account_id"))


def mrr_bridge(moves: pd.DataFrame) -> dict[str, float]:
    """The MRR bridge of one month (currency/month).

    mrr_end = mrr_start + new + reactivation + expansion − contraction − churned, where
    expansion / contraction are the positive / negative changes of retained accounts
    (contraction as a positive number) and churned is the P-1 MRR of churned accounts.
    """
    # sums of Series (pandas' summation, as everywhere else) picked by numpy masks: a mask of the
    # movement labels per movement instead of a frame filter each
    movement = moves["movement"].to_numpy(dtype=object)
    previous, current = moves["mrr_previous"], moves["mrr_current"]
    retained = movement == "retained"
    change = current[retained] - previous[retained]
    return {
        "mrr_start": float(previous.sum()),
        "mrr_new": float(current[movement == "new"].sum()),
        "mrr_reactivation": float(current[movement == "reactivated"].sum()),
        "mrr_expansion": float(change[change > 0].sum()),
        "mrr_contraction": float(-change[change < 0].sum()) + 0.0,  # + 0.0: no contraction is 0, not -0
        "mrr_churned": float(previous[movement == "churned"].sum()),
        "mrr_end": float(current.sum()),
    }


def quick_ratio(bridge: dict[str, float]) -> float | None:
    """(mrr_new + mrr_reactivation + mrr_expansion) / (mrr_contraction + mrr_churned), a unitless ratio.

    MRR gained per unit of MRR lost in the month; None when nothing was lost (zero denominator).
    """
    lost = bridge["mrr_contraction"] + bridge["mrr_churned"]
    if lost == 0:
        return None
    return (bridge["mrr_new"] + bridge["mrr_reactivation"] + bridge["mrr_expansion"]) / lost


def logo_churn_rate_pct(matrix: pd.DataFrame, period: Period) -> float | None:
    """100 · churned / customers_start (percent); None when no customer was active in P-1."""
    # counted on the MRR columns (one row per account), not as sets of ids: the same counts, and a
    # report asks it for two earlier months of every period it computes (cltv)
    before = mrr_by_account(matrix, period.previous).to_numpy(dtype=float) > 0
    now = mrr_by_account(matrix, period).to_numpy(dtype=float) > 0
    return pct(int((before & ~now).sum()), int(before.sum()))


def ttm_retention_pct(matrix: pd.DataFrame, period: Period) -> tuple[float | None, float | None]:
    """(grr_ttm_pct, nrr_ttm_pct) over the accounts active in P-12 (percent).

    grr_ttm = 100 · Σ min(mrr(P), mrr(P-12)) / Σ mrr(P-12);  nrr_ttm = 100 · Σ mrr(P) / Σ mrr(P-12).
    """
    base = mrr_by_account(matrix, period.shift(-12))
    base = base[base > 0]
    if base.empty:
        return None, None
    now = mrr_by_account(matrix, period).reindex(base.index, fill_value=0.0)
    return pct(now.clip(upper=base).sum(), base.sum()), pct(now.sum(), base.sum())


def cltv(arpa: float | None, churn_rates: list[float | None], gross_margin: float) -> float | None:
    """arpa · gross_margin / (c / 100), c = mean logo churn (percent) of P, P-1, P-2 (currency).

    None when ARPA is unknown, any of the three rates is null, or c is 0 (no churn in window).
    """
    known = [rate for rate in churn_rates if rate is not None]
    if arpa is None or not known or len(known) < len(churn_rates):
        return None
    mean_churn = sum(known) / len(known)
    return None if mean_churn == 0 else arpa * gross_margin / (mean_churn / 100.0)


def revenue_metrics(matrix: pd.DataFrame, period: Period, gross_margin: float,
                    moves: pd.DataFrame | None = None) -> MetricSet:
    """Every customer and revenue metric of SPEC §3 for ``period`` (``moves``: its movements, if known).

    A customer is active in a month when its MRR that month is > 0 (no revenue row = MRR 0).

    customers_start             = # customers active in P-1
    customers_end               = # customers active in P
    customers_new               = # customers active in P and never active before P
    customers_reactivated       = # customers active in P, not in P-1, and active in some month before P-1
    customers_churned           = # customers active in P-1 and not in P
    logo_churn_rate_pct         = 100 · customers_churned / customers_start
    customer_retention_rate_pct = 100 · (customers_end − new − reactivated) / customers_start
    mrr_start                   = Σ MRR of P-1
    mrr_end                     = Σ MRR of P = mrr_start + new + reactivation + expansion − contraction − churned
    mrr_new                     = Σ MRR in P of new customers
    mrr_reactivation            = Σ MRR in P of reactivated customers
    mrr_expansion               = Σ MRR increases of customers active in both P-1 and P
    mrr_contraction             = Σ MRR decreases of customers active in both P-1 and P (a positive number)
    mrr_churned                 = Σ MRR in P-1 of churned customers
    quick_ratio                 = (mrr_new + mrr_reactivation + mrr_expansion) / (mrr_contraction + mrr_churned)
    grr_pct                     = 100 · (mrr_start − mrr_contraction − mrr_churned) / mrr_start
    nrr_pct                     = 100 · (mrr_start + mrr_expansion − mrr_contraction − mrr_churned) / mrr_start
    grr_ttm_pct                 = 100 · Σ min(MRR in P, MRR in P-12) / Σ MRR in P-12, over customers active in P-12
    nrr_ttm_pct                 = 100 · Σ MRR in P / Σ MRR in P-12, over customers active in P-12
    arpa                        = mrr_end / customers_end
    cltv                        = arpa · gross_margin / (c / 100), c = mean logo churn (%) of P, P-1 and P-2;
                                  null when c is 0 (no churn in the window)
    """
    out = MetricSet()
    moves = movements(matrix, period) if moves is None else moves
    counts = moves["movement"].value_counts()
    start = int((moves["mrr_previous"] > 0).sum())
    end = int((moves["mrr_current"] > 0).sum())
    new, reactivated, churned = (int(counts.get(m, 0)) for m in ("new", "reactivated", "churned"))
    no_start = f"no customers were active in {period.previous} (zero denominator)"
    out.put("customers_start", start)
    out.put("customers_end", end)
    out.put("customers_new", new)
    out.put("customers_reactivated", reactivated)
    out.put("customers_churned", churned)
    out.put("logo_churn_rate_pct", pct(churned, start), no_start)
    out.put("customer_retention_rate_pct", pct(end - new - reactivated, start), no_start)

    bridge = mrr_bridge(moves)
    for key in ("mrr_start", "mrr_end", "mrr_new", "mrr_reactivation", "mrr_expansion", "mrr_contraction",
                "mrr_churned"):
        out.put(key, bridge[key])
    out.put("quick_ratio", quick_ratio(bridge),
            f"no MRR was lost in {period}: contraction and churned MRR are 0 (zero denominator)")
    mrr_start = bridge["mrr_start"]
    no_mrr = f"MRR in {period.previous} was 0 (zero denominator)"
    out.put("grr_pct", pct(mrr_start - bridge["mrr_contraction"] - bridge["mrr_churned"], mrr_start), no_mrr)
    out.put("nrr_pct", pct(mrr_start + bridge["mrr_expansion"] - bridge["mrr_contraction"] - bridge["mrr_churned"],
                           mrr_start), no_mrr)
    grr_ttm, nrr_ttm = ttm_retention_pct(matrix, period)
    no_base = f"no customers were active in {period.shift(-12)} (12 months earlier)"
    out.put("grr_ttm_pct", grr_ttm, no_base)
    out.put("nrr_ttm_pct", nrr_ttm, no_base)

    arpa = None if end == 0 else bridge["mrr_end"] / end
    out.put("arpa", arpa, f"no customers active in {period}")
    rates = [pct(churned, start)] + [logo_churn_rate_pct(matrix, period.shift(-k)) for k in (1, 2)]
    if arpa is None:
        reason = f"no customers active in {period}"
    elif any(r is None for r in rates):
        reason = "logo churn is unknown for one of the last three months (no customers at its start)"
    else:
        reason = "no churn in window: mean logo churn of the last three months is 0"
    out.put("cltv", cltv(arpa, rates, gross_margin), reason)
    return out
