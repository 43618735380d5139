"""HTML building blocks of the report: KPI tiles, metric tables, at-risk list, comments, any DataFrame.

Every component reads the :class:`~csreport.model.ReportModel` (or, :func:`table`, a DataFrame)
and returns a :class:`Fragment`, which displays itself in Jupyter and becomes part of the report.
All text that comes from data or config (account names, comments, segment names, a company
metric's label and formula) is untrusted and goes through Jinja's autoescaping; nothing here
marks data as safe.
"""
from __future__ import annotations

from typing import Any

from ..metrics.catalog import BY_KEY, custom_keys
from ..model import ReportModel
from ..model.types import Scope
from .charts import Chart
from .formatting import DIRECTION_SIGN, HEADLINE, fmt, mom, money, month_label, yoy
from .html import Fragment, env
from .tables import table

__all__ = ["at_risk", "comments", "company_metrics", "data_quality", "figure_row", "kpi_tiles", "metric_table",
           "provenance", "segment_table", "survey_extras", "table"]

TILE_LABELS = {"grr_pct": "GRR (monthly)", "nrr_pct": "NRR (monthly)", "health_green_pct": "Health mix"}
COMPONENT_TEXT = {
    "usage": "low product usage",
    "feedback": "unhappy survey feedback",
    "support": "support SLA misses",
    "payment": "late or missing payments",
}


def _row(model: ReportModel, key: str) -> dict[str, Any]:
    target = model.targets.get(key)
    value = model.value(key)
    return {
        "key": key,
        "label": BY_KEY[key].label,
        "value": fmt(key, value),
        "target": None if target is None else fmt(key, target.target),
        "direction": "" if target is None else DIRECTION_SIGN[target.direction],
        "status": model.status.get(key),
        "delta": mom(model, key),
        "significant": model.change(key).significant,
        "yoy": yoy(model, key),
        "note": model.notes.get(key) if value is None else None,
    }


_TILES = env.get_template("fragments/kpi_tiles.html.j2")


def kpi_tiles(model: ReportModel, keys: list[str] | None = None) -> Fragment:
    """The headline tiles: value, target, RAG colour, change vs last month and vs last year."""
    tiles = [_row(model, k) for k in (keys or HEADLINE)]
    for tile in tiles:
        tile["label"] = TILE_LABELS.get(tile["key"], tile["label"])
        if tile["key"] == "health_green_pct":  # the health tile shows the whole mix
            tile["mix"] = {band: fmt(f"health_{band}_pct", model.value(f"health_{band}_pct"))
                           for band in ("green", "amber", "red")}
    return Fragment(_TILES.render(tiles=tiles, previous=month_label(model.previous_period),
                                  year_ago=month_label(model.month.shift(-12))))


_TABLE = env.get_template("fragments/metric_table.html.j2")


def metric_table(model: ReportModel, keys: list[str], title: str = "Metric",
                 extras: dict[str, str] | None = None) -> Fragment:
    rows = []
    for key in keys:
        row = _row(model, key)
        row["extra"] = (extras or {}).get(key)
        rows.append(row)
    footnote = any(r["significant"] is not None for r in rows)
    return Fragment(_TABLE.render(rows=rows, title=title, period=month_label(model.period),
                                  previous=month_label(model.previous_period),
                                  year_ago=month_label(model.month.shift(-12)), footnote=footnote))


def survey_extras(model: ReportModel) -> dict[str, str]:
    """'n=310, ±5' next to the survey metrics."""
    extras = {}
    for key, n_key in (("nps", "nps_responses"), ("csat_pct", "csat_responses"), ("ces_avg", "ces_responses")):
        n = model.value(n_key)
        if n is not None:
            moe = model.value("nps_moe95") if key == "nps" else None
            extras[key] = f"n={n:,}" + (f", ±{moe:.0f}" if moe is not None else "")
    return extras


_AT_RISK = env.get_template("fragments/at_risk.html.j2")


def at_risk(model: ReportModel) -> Fragment:
    """The customers most at risk, as the model lists them."""
    if not model.at_risk:
        empty = model.notes.get("health_avg") or "No customers active in the period."
        return Fragment(_AT_RISK.render(rows=[], empty=empty))
    rows = [{"name": r.name, "segment": r.segment, "mrr": money(r.mrr), "health": f"{r.health:.0f}", "band": r.band,
             "reason": f"{COMPONENT_TEXT.get(r.weakest, r.weakest)} ({r.weakest_score:.0f}/100)"}
            for r in model.at_risk]
    return Fragment(_AT_RISK.render(rows=rows))


_COMMENTS = env.get_template("fragments/comments.html.j2")
_TONE = {"promoter": "good", "passive": "flat", "detractor": "bad"}


def comments(model: ReportModel) -> Fragment:
    """The model's sample of this month's verbatim NPS comments (escaped: untrusted text)."""
    from datetime import date

    items = [{"text": c.text, "account": c.account, "score": c.score, "tone": _TONE[c.category],
              "date": date.fromisoformat(c.responded_on).strftime("%d %b")} for c in model.comments]
    return Fragment(_COMMENTS.render(comments=items))


_QUALITY = env.get_template("fragments/data_quality.html.j2")


def data_quality(model: ReportModel) -> Fragment:
    return Fragment(_QUALITY.render(rows=list(model.data_quality.values())))


_PROVENANCE = env.get_template("fragments/provenance.html.j2")


def provenance(model: ReportModel) -> Fragment:
    return Fragment(_PROVENANCE.render(p=model.provenance, period=model.period))


def figure_row(*charts: Chart) -> Fragment:
    """Charts side by side (two half-width charts make one row on the page)."""
    cells = "".join(chart.__html__() for chart in charts)
    return Fragment(f'<div class="chart-row">{cells}</div>')  # SVG from our own charts: trusted markup


_SEGMENTS = env.get_template("fragments/segment_table.html.j2")


def segment_table(model: ReportModel, keys: list[str]) -> Fragment:
    """Metrics by segment with RAG-coloured cells."""
    scopes: list[Scope] = [model, *model.segments.values()]
    rows = [{"label": BY_KEY[key].label,
             "cells": [{"value": fmt(key, s.value(key)), "status": s.status.get(key)} for s in scopes]}
            for key in keys]
    return Fragment(_SEGMENTS.render(rows=rows, segments=list(model.segments)))


_DEFINITIONS = env.get_template("fragments/definitions.html.j2")


def company_metrics(model: ReportModel, title: str = "Company metrics") -> Fragment:
    """The company's own metrics (config ``metrics_module``): values with targets and changes, by
    segment, and how each is defined. Empty when the config declares none."""
    keys = [key for key in custom_keys() if key in model.metrics]
    if not keys:
        return Fragment("")
    definitions = [{"label": BY_KEY[k].label, "formula": BY_KEY[k].formula,
                    "direction": "higher" if BY_KEY[k].higher_is_better else "lower"} for k in keys]
    heading = env.from_string('<h3 class="component-title">{{ title }}</h3>').render(title=title)
    parts = [heading, metric_table(model, keys, "Metric").html, segment_table(model, keys).html,
             _DEFINITIONS.render(definitions=definitions)]
    return Fragment("\n".join(parts))
