"""HTML building blocks of the report: KPI tiles, metric tables, at-risk list, comments, appendix, any DataFrame.

Every component reads the :class:`~csreport.model.ReportModel` (or, :func:`table`, a DataFrame)
and returns a :class:`Fragment`, which displays itself in Jupyter and becomes part of the report.
All text that comes from data or config (account names, comments, segment names, a company
metric's label and formula) is untrusted and goes through Jinja's autoescaping; nothing here
marks data as safe. A metric whose domain has no data (``model.unavailable``) is left out:
page 1 names such sections in one line instead of tables of "n/a". Components record the
metrics they show, so the definitions appendix covers exactly those (company metrics too).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from ..metrics.catalog import BY_KEY, custom_keys
from ..metrics.health import BANDS
from ..model import ReportModel
from ..model.types import Scope, TargetInfo
from . import definitions as defs
from .charts import Chart, cohort_heatmap
from .formatting import DIRECTION_SIGN, HEADLINE, display_source, fmt, mom, money, month_label, yoy
from .html import Fragment, env
from .narrative import AUC_SCALE, backtest_reading, health_caveat
from .tables import table

__all__ = [
    "at_risk",
    "cohort_retention",
    "comments",
    "company_metrics",
    "data_quality",
    "definitions",
    "figure_row",
    "figure_stack",
    "health_backtest",
    "health_note",
    "kpi_tiles",
    "metric_table",
    "provenance",
    "response_counts",
    "restatements",
    "segment_table",
    "survey_extras",
    "table",
]

TILE_LABELS = {"grr_ttm_pct": "GRR (12 months)", "nrr_ttm_pct": "NRR (12 months)",
               "health_green_pct": "Healthy customers"}
COMPONENT_TEXT = {"usage": "usage", "feedback": "feedback", "support": "support SLA", "payment": "payments"}
# a status readable without colour: the symbol, and what it means (legend)
STATUS_MARK = {"green": "✓", "amber": "≈", "red": "✗"}
STATUS_MEANING = {"green": "meets target", "amber": "misses within tolerance", "red": "misses target"}


def _target_text(key: str, target: TargetInfo | None) -> str | None:
    return None if target is None else f"{DIRECTION_SIGN[target.direction]} {fmt(key, target.target)}"


def _row(model: ReportModel, key: str) -> dict[str, Any]:
    target = model.targets.get(key)
    value = model.value(key)
    return {
        "key": key,
        "label": BY_KEY[key].label,
        "value": fmt(key, value),
        "target": _target_text(key, target),
        "status": model.status.get(key),
        "mark": STATUS_MARK.get(model.status.get(key) or ""),
        "delta": mom(model, key),
        "significant": model.change(key).significant,
        "yoy": yoy(model, key),
        "note": model.notes.get(key) if value is None else None,
    }


def _shown(model: ReportModel, keys: list[str]) -> list[str]:
    """The keys a component shows: those with data, recorded for the definitions appendix."""
    kept = [k for k in keys if k in BY_KEY and model.available(k)]
    defs.note_shown(kept)
    return kept


_TILES = env.get_template("fragments/kpi_tiles.html.j2")


def kpi_tiles(model: ReportModel, keys: list[str] | None = None) -> Fragment:
    """The headline tiles: value, target, status, change vs last month and vs last year."""
    tiles = [_row(model, k) for k in _shown(model, keys or HEADLINE)]
    bands = model.settings.health_bands
    for tile in tiles:
        tile["label"] = TILE_LABELS.get(tile["key"], tile["label"])
        if tile["key"] == "health_green_pct":  # say plainly what the number is, and show the whole mix
            tile["explain"] = f"share of customers with health ≥ {bands['green']:g} of 100"
            tile["mix"] = {band: fmt(f"health_{band}_pct", model.value(f"health_{band}_pct"))
                           for band in BANDS}
            tile["caveat"] = _short_caveat(model)
    return Fragment(_TILES.render(tiles=tiles, previous=month_label(model.previous_period),
                                  year_ago=month_label(model.month.shift(-12))))


def _short_caveat(model: ReportModel) -> str | None:
    """'Scored without usage, payment (no data)': the tile's version of the health caveat."""
    if not model.health_missing or not model.health_components:
        return None
    return "Scored without " + ", ".join(model.health_missing)


_TABLE = env.get_template("fragments/metric_table.html.j2")


def metric_table(model: ReportModel, keys: list[str], title: str = "Metric",
                 extras: dict[str, str] | None = None) -> Fragment:
    """A table of metrics with changes, target and status; nothing when none of them has data."""
    rows = []
    for key in _shown(model, keys):
        row = _row(model, key)
        row["extra"] = (extras or {}).get(key)
        rows.append(row)
    if not rows:
        return Fragment("")
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
            defs.note_shown([n_key] + (["nps_moe95"] if moe is not None else []))
    return extras


def response_counts(model: ReportModel, pairs: dict[str, str]) -> dict[str, str]:
    """'n=755' next to each metric of ``pairs`` (metric -> its count of responses), where the count is known."""
    extras = {}
    for key, n_key in pairs.items():
        n = model.value(n_key)
        if n is not None:
            extras[key] = f"n={n:,}"
            defs.note_shown([n_key])
    return extras


def cohort_retention(model: ReportModel) -> Fragment:
    """Logo and MRR retention of the cohorts of P-12 … P-1 as two heatmaps (numbers in every cell,
    one-hue shading), each cohort labelled with its size; nothing when no cohort is in the window."""
    charts = []
    for key, title in (("cohort_logo_retention_pct", "Logo retention by cohort (% of the cohort's customers)"),
                       ("cohort_mrr_retention_pct", "MRR retention by cohort (% of the cohort's first-month MRR)")):
        curves = model.value(key)
        if isinstance(curves, dict) and curves:
            charts.append(cohort_heatmap(curves, title, model.cohort_sizes))
            defs.note_shown([key])
    if not charts:
        return Fragment("")
    note = env.from_string(COHORT_NOTE).render(period=month_label(model.period))
    return Fragment(figure_stack(*charts).html + note)


COHORT_NOTE = ('<p class="note">Each row is a cohort: the customers whose first paying month it was (n = how many). '
               "Each cell is, that many months later, the share of them still paying (logo) or their MRR as a share "
               "of their first month's (MRR, which expansion can take past 100), up to {{ period }}. "
               "Darker cells retained more.</p>")


def figure_stack(*charts: Chart) -> Fragment:
    """Full-width charts one under the other, kept together on a page."""
    cells = "".join(chart.__html__() for chart in charts)
    return Fragment(f'<div class="chart-stack">{cells}</div>' if cells else "")  # our own SVG: trusted markup


_BACKTEST = env.get_template("fragments/backtest.html.j2")
BAND_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}


def health_backtest(model: ReportModel) -> Fragment:
    """'Does our health score predict churn?': the backtest's AUC read in plain words (and against its
    target), the customers scored at L = P − h months and how many churned by P, and churn by band at L."""
    if not model.available("health_backtest_auc"):
        return Fragment("")
    keys = ["health_backtest_auc", "health_backtest_customers", "health_backtest_churned"]
    lookback, period = month_label(model.backtest_month), month_label(model.period)
    customers = model.value("health_backtest_customers") or 0
    churned = model.value("health_backtest_churned") or 0
    bands = model.settings.health_bands
    limits = {"green": f"health ≥ {bands['green']:g}", "amber": f"{bands['amber']:g} to {bands['green']:g}",
              "red": f"below {bands['amber']:g}"}
    rows = []
    for band in BANDS if model.backtest_bands else ():
        counts, key = model.backtest_bands[band], f"health_backtest_{band}_churn_pct"
        keys.append(key)
        rows.append({"band": band, "label": BAND_WORDS[band], "limits": limits[band], "customers": counts.customers,
                     "churned": counts.churned, "pct": fmt(key, model.value(key))})
    defs.note_shown(keys)
    auc = _row(model, "health_backtest_auc")
    return Fragment(_BACKTEST.render(reading=backtest_reading(model), auc=auc, customers=customers, churned=churned,
                                     lookback=lookback, period=period, months=model.settings.health_backtest_months,
                                     rows=rows, scale=AUC_SCALE))


_AT_RISK = env.get_template("fragments/at_risk.html.j2")


def _weakest_text(components: list[str], score: float) -> str:
    return f"{', '.join(COMPONENT_TEXT.get(c, c) for c in components)} ({score:.0f}/100)"


def at_risk(model: ReportModel) -> Fragment:
    """The red-band customers with the most MRR at risk, as the model lists them (rule: see the note)."""
    previous = month_label(model.previous_period)
    if not model.at_risk:
        if not model.available("health_avg"):
            return Fragment("")
        empty = "No customer is in the red health band." if model.value("health_avg") is not None \
            else model.notes.get("health_avg", "No customers active in the period.")
        return Fragment(_AT_RISK.render(rows=[], empty=empty, csm=False, previous=previous))
    rows = []
    for r in model.at_risk:
        if r.health_change is None:
            change, moved = "new customer", "–"
        else:
            change = f"{r.health_change:+.0f}"
            moved = "–" if r.moved_by is None else \
                f"{COMPONENT_TEXT.get(r.moved_by, r.moved_by)} {r.moved_by_points:+.0f}"
        rows.append({"name": r.name, "segment": r.segment, "csm": r.csm or "unassigned", "mrr": money(r.mrr),
                     "at_risk": money(r.mrr_at_risk), "health": f"{r.health:.0f}", "band": r.band,
                     "change": change, "moved": moved, "weakest": _weakest_text(r.weakest, r.weakest_score)})
    shown = len(rows)
    total = model.at_risk_red_total
    return Fragment(_AT_RISK.render(rows=rows, csm=model.csm_known, previous=previous, shown=shown, total=total,
                                    red_below=f"{model.settings.health_bands['amber']:g}"))


def health_note(model: ReportModel) -> Fragment:
    """The health page's caveat when the score was computed from fewer components (else nothing)."""
    text = health_caveat(model)
    return Fragment(env.get_template("fragments/caveat.html.j2").render(text=text) if text else "")


_COMMENTS = env.get_template("fragments/comments.html.j2")
_TONE = {"promoter": "good", "passive": "flat", "detractor": "bad"}


def comments(model: ReportModel) -> Fragment:
    """The model's sample of this month's verbatim NPS comments (escaped: untrusted text)."""
    if not model.available("nps"):
        return Fragment("")
    items = [{"text": c.text, "account": c.account, "score": c.score, "tone": _TONE[c.category],
              "date": date.fromisoformat(c.responded_on).strftime("%d %b %Y")} for c in model.comments]
    return Fragment(_COMMENTS.render(comments=items))


_QUALITY = env.get_template("fragments/data_quality.html.j2")


def data_quality(model: ReportModel) -> Fragment:
    """Rows read and set aside per table; each source named by its file or table name, never its path."""
    rows = [{"table": q.table, "source": display_source(q.location) if q.location else "not provided",
             "rows": q.rows, "rejected": q.rejected, "problems": q.problems,
             "rejects": display_source(q.rejects_file) if q.rejects_file else None}
            for q in model.data_quality.values()]
    return Fragment(_QUALITY.render(rows=rows, fingerprint=model.provenance.fingerprint))


_PROVENANCE = env.get_template("fragments/provenance.html.j2")


def provenance(model: ReportModel) -> Fragment:
    return Fragment(_PROVENANCE.render(p=model.provenance, source=display_source(model.provenance.source),
                                       period=month_label(model.period)))


_RESTATED = env.get_template("fragments/restatements.html.j2")


def restatements(model: ReportModel) -> Fragment:
    """Earlier months whose recorded value differs from what the data gives now: old and new value."""
    if not model.restatements:
        return Fragment('<p class="note">Every recorded month this report compares with matches the data today.</p>')
    rows = [{"period": month_label(r.period), "metric": BY_KEY[r.metric].label if r.metric in BY_KEY else r.metric,
             "segment": r.segment or "All customers", "recorded": fmt(r.metric, r.recorded),
             "now": fmt(r.metric, r.recomputed)} for r in model.restatements]
    return Fragment(_RESTATED.render(rows=rows))


_METRIC_DEFINITIONS = env.get_template("fragments/metric_definitions.html.j2")


def definitions(model: ReportModel, keys: list[str] | None = None) -> Fragment:
    """Every metric shown in the report (or ``keys``): formula, unit, direction, target, settings used."""
    s = model.settings
    settings = [f"Months are calendar months in the {s.timezone} time zone; a figure for a month counts only "
                "what happened before the month ended.",
                f"Gross margin (for lifetime value): {100 * s.gross_margin:g}%."]
    if model.available("sla_met_pct"):
        settings.append(f"Support SLA: {s.sla_hours:g} hours.")
    if model.available("health_avg"):
        settings.append("Health weights: " + ", ".join(f"{c} {100 * w:g}%" for c, w in s.health_weights.items())
                        + f"; bands: green ≥ {s.health_bands['green']:g}, amber ≥ {s.health_bands['amber']:g}, "
                          f"red below {s.health_bands['amber']:g}."
                        + (f" Scored from {', '.join(model.health_components)} only, weights rescaled."
                           if model.health_missing else ""))
    items = defs.definitions(model, keys if keys is not None else defs.shown_keys())
    return Fragment(_METRIC_DEFINITIONS.render(items=items, settings=settings))


def figure_row(*charts: Chart | None) -> Fragment:
    """Charts side by side (two half-width charts make one row on the page); None leaves a chart out."""
    cells = "".join(chart.__html__() for chart in charts if chart is not None)
    return Fragment(f'<div class="chart-row">{cells}</div>' if cells else "")  # our own SVG: trusted markup


_SEGMENTS = env.get_template("fragments/segment_table.html.j2")


def segment_table(model: ReportModel, keys: list[str]) -> Fragment:
    """Metrics by segment: each cell shows the value, the target it was judged against (segment
    overrides included) and its status as a symbol, so it reads in black and white."""
    scopes: list[Scope] = [model, *model.segments.values()]
    rows = []
    for key in _shown(model, keys):
        cells = []
        for scope in scopes:
            status = scope.status.get(key)
            cells.append({"value": fmt(key, scope.value(key)), "status": status, "mark": STATUS_MARK.get(status or ""),
                          "target": _target_text(key, scope.targets.get(key))})
        rows.append({"key": key, "label": BY_KEY[key].label, "cells": cells})
    legend = [f"{STATUS_MARK[s]} {STATUS_MEANING[s]}" for s in ("green", "amber", "red")]
    return Fragment(_SEGMENTS.render(rows=rows, segments=list(model.segments), legend=legend))


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
