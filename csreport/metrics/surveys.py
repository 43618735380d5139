"""NPS, CSAT and CES (SPEC §3), and the significance test for a change between periods.

Input: the validated surveys table (survey in nps/csat/ces, integer score,
tz-aware responded_at, optional ticket_id). Responses count when
start(P) <= responded_at < end(P).

This module is the one home of the survey scales' rules: the NPS bands
(:data:`PROMOTER_MIN`, :data:`DETRACTOR_MAX`, :func:`nps_category`) and the CSAT
"satisfied" threshold (:data:`CSAT_SATISFIED_MIN`, :func:`satisfied`). Health and
the support metrics use them from here.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..memo import remembered
from .base import MetricSet, pct
from .catalog import not_available

PROMOTER_MIN = 9  # NPS 9–10: promoter
DETRACTOR_MAX = 6  # NPS 0–6: detractor; 7–8: passive
CSAT_SATISFIED_MIN = 4  # CSAT 4–5 (of 1–5): satisfied
SUPPORT_CSAT_KEYS = ["support_csat_pct", "support_csat_responses"]


def nps_category(scores: pd.Series) -> pd.Series:
    """Per NPS score (0–10): 'promoter' (9–10), 'passive' (7–8) or 'detractor' (0–6)."""
    labels = np.select([scores >= PROMOTER_MIN, scores <= DETRACTOR_MAX], ["promoter", "detractor"], "passive")
    return pd.Series(labels, index=scores.index, dtype=object)


def satisfied(scores: pd.Series) -> pd.Series:
    """Per CSAT score (1–5): True when it is 4 or 5."""
    return scores >= CSAT_SATISFIED_MIN


def of_type(surveys: pd.DataFrame, survey: str) -> pd.DataFrame:
    """Responses of one survey type (nps, csat, ces), in the table's order; split once per frame."""
    return remembered(surveys, ("of_type", survey), lambda: surveys[surveys["survey"] == survey])


def rows_in(surveys: pd.DataFrame, survey: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Responses of one survey type answered in [start, end) (remembered per frame and window: the
    metrics, their significance stats and the health feedback of a month read them again)."""
    def build() -> pd.DataFrame:
        typed = of_type(surveys, survey)
        return typed[answered_in(typed, start, end)]
    return remembered(surveys, ("rows_in", survey, start, end), build)


def answered_in(responses: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Per response: True when start <= responded_at < end (the period a response counts in)."""
    return (responses["responded_at"] >= start) & (responses["responded_at"] < end)


def responses_in(surveys: pd.DataFrame, survey: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Scores of one survey type answered in [start, end) (remembered like :func:`rows_in`: the same
    Series each time, so what is derived from it, e.g. :func:`nps_shares`, is remembered on it)."""
    def build() -> pd.Series:
        # the score column of the window, not the window's every column (comments included) first
        typed = of_type(surveys, survey)
        return typed["score"][answered_in(typed, start, end)].astype("int64")
    return remembered(surveys, ("responses_in", survey, start, end), build)


def support_csat_scores(surveys: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Scores of the CSAT responses answered in [start, end) that rate a support ticket (ticket_id set).

    NPS and CES responses with a ticket_id do not count (SPEC §3, support satisfaction).
    """
    rows = rows_in(surveys, "csat", start, end)
    return rows.loc[rows["ticket_id"].notna(), "score"].astype("int64")


def nps_shares(scores: pd.Series) -> tuple[float, float] | None:
    """(p, d): promoter (9–10) and detractor (0–6) shares in 0–1; None with no responses.

    Remembered per scores Series: the NPS, its margin, the shares and the significance stats of a
    month all ask it of the same responses (:func:`responses_in`).
    """
    if scores.empty:
        return None
    return remembered(scores, "nps_shares", lambda: _shares(nps_category(scores)))


def _shares(category: pd.Series) -> tuple[float, float]:
    return float((category == "promoter").mean()), float((category == "detractor").mean())


def nps_variance(p: float, d: float) -> float:
    """Variance of one response's NPS value (+1/0/−1) in share units: p + d − (p − d)²."""
    return p + d - (p - d) ** 2


def nps(scores: pd.Series) -> float | None:
    """nps = 100 · (p − d), in points from −100 to 100."""
    shares = nps_shares(scores)
    return None if shares is None else 100.0 * (shares[0] - shares[1])


def nps_moe95(scores: pd.Series) -> float | None:
    """95 % margin of error of the NPS in points: 196 · sqrt((p + d − (p − d)²) / n)."""
    shares = nps_shares(scores)
    if shares is None:
        return None
    return 196.0 * math.sqrt(max(nps_variance(*shares), 0.0) / len(scores))


def csat_pct(scores: pd.Series) -> float | None:
    """100 · share of CSAT scores (1–5) that are 4 or 5 (percent)."""
    return pct(satisfied(scores).sum(), len(scores))


def ces_avg(scores: pd.Series) -> float | None:
    """Mean CES score on the 1–7 scale (higher = easier)."""
    return None if scores.empty else float(scores.mean())


def is_significant(delta: float, var1: float, n1: int, var2: float, n2: int) -> bool | None:
    """A change is significant when |Δ| > 1.96 · sqrt(var₁/n₁ + var₂/n₂) (Δ and var in the same units).

    None when either side has no responses.
    """
    if n1 == 0 or n2 == 0:
        return None
    return abs(delta) > 1.96 * math.sqrt(var1 / n1 + var2 / n2)


def survey_metrics(surveys: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> MetricSet:
    """Every survey metric of SPEC §3 for the period [start, end); None: the source has no surveys table.

    nps                = 100 · (p − d), p and d the shares of promoters (9–10) and detractors (0–6) among the
                         NPS answers in P
    nps_responses      = # NPS answers in P (n)
    nps_promoters_pct  = 100 · p
    nps_detractors_pct = 100 · d
    nps_moe95          = 196 · sqrt((p + d − (p − d)²) / n): the NPS's 95 % margin of error, in points
    csat_pct           = 100 · share of the CSAT answers in P that score 4 or 5 (of 5)
    csat_responses     = # CSAT answers in P
    ces_avg            = mean CES answer in P (1–7, higher = less effort)
    ces_responses      = # CES answers in P
    """
    if surveys is None:
        return MetricSet.table_missing("surveys")
    out = MetricSet()
    nps_scores = responses_in(surveys, "nps", start, end)
    none = "no {} responses in the period"
    shares = nps_shares(nps_scores)
    out.put("nps", nps(nps_scores), none.format("NPS"))
    out.put("nps_responses", len(nps_scores))
    out.put("nps_promoters_pct", None if shares is None else 100.0 * shares[0], none.format("NPS"))
    out.put("nps_detractors_pct", None if shares is None else 100.0 * shares[1], none.format("NPS"))
    out.put("nps_moe95", nps_moe95(nps_scores), none.format("NPS"))
    csat = responses_in(surveys, "csat", start, end)
    out.put("csat_pct", csat_pct(csat), none.format("CSAT"))
    out.put("csat_responses", len(csat))
    ces = responses_in(surveys, "ces", start, end)
    out.put("ces_avg", ces_avg(ces), none.format("CES"))
    out.put("ces_responses", len(ces))
    out.update(support_csat_metrics(surveys, start, end))
    return out


def support_csat_metrics(surveys: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> MetricSet:
    """The support satisfaction keys (null without a surveys.ticket_id column).

    support_csat_responses = # CSAT answers in P that rate a support ticket (ticket_id set)
    support_csat_pct       = 100 · share of those answers scoring 4 or 5 (of 5)
    """
    out = MetricSet()
    if "ticket_id" not in surveys:
        out.unavailable(SUPPORT_CSAT_KEYS, not_available("surveys", "ticket_id"))
        return out
    scores = support_csat_scores(surveys, start, end)
    out.put("support_csat_pct", csat_pct(scores), "no CSAT response about a support ticket in the period")
    out.put("support_csat_responses", len(scores))
    return out


def survey_stats(surveys: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp) -> dict[str, tuple]:
    """(n, per-response variance) behind nps, csat_pct, ces_avg (and support_csat_pct with a ticket_id
    column), for significance tests.

    Variances are in share units for NPS (p + d − (p − d)²), CSAT and support CSAT (p(1 − p)) and the promoter
    and detractor shares (p(1 − p), d(1 − d)), and in score units for CES (sample variance,
    n − 1 in the denominator).
    """
    if surveys is None:
        return {}
    stats: dict[str, tuple] = {}
    nps_scores = responses_in(surveys, "nps", start, end)
    shares = nps_shares(nps_scores)
    stats["nps"] = (len(nps_scores), None if shares is None else nps_variance(*shares))
    for key, i in (("nps_promoters_pct", 0), ("nps_detractors_pct", 1)):  # each a share of the same answers
        stats[key] = (len(nps_scores), None if shares is None else shares[i] * (1 - shares[i]))
    csat = responses_in(surveys, "csat", start, end)
    share = None if csat.empty else float(satisfied(csat).mean())
    stats["csat_pct"] = (len(csat), None if share is None else share * (1 - share))
    ces = responses_in(surveys, "ces", start, end)
    stats["ces_avg"] = (len(ces), float(ces.var(ddof=1)) if len(ces) > 1 else None)
    if "ticket_id" in surveys:
        rated = support_csat_scores(surveys, start, end)
        share = None if rated.empty else float(satisfied(rated).mean())
        stats["support_csat_pct"] = (len(rated), None if share is None else share * (1 - share))
    return stats
