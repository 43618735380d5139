"""HTML building blocks of the report: KPI tiles, metric tables, at-risk list, comments.

Every component reads the :class:`~csreport.model.ReportModel` and returns a
:class:`Fragment`, which displays itself in Jupyter and becomes part of the report.
All text that comes from data or config (account names, comments, segment names) is
untrusted and goes through Jinja's autoescaping; nothing here marks data as safe.
"""
from __future__ import annotations

from typing import Any

from ..metrics.catalog import BY_KEY
from ..model import ReportModel
from ..model.types import Scope
from .charts import Chart
from .formatting import HEADLINE, fmt, mom, money, month_label, yoy
from .html import Fragment, env

TILE_LABELS = {"grr_pct": "GRR (monthly)", "nrr_pct": "NRR (monthly)", "health_green_pct": "Health mix"}
COMPONENT_TEXT = {
    "usage": "low product usage",
    "feedback": "unhappy survey feedback",
    "support": "support SLA misses",
    "payment": "late or missing payments",
}
DIRECTION_SIGN = {"higher": "≥", "lower": "≤"}


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


_TILES = env.from_string("""
<div class="kpi-grid">
{% for t in tiles %}
  <div class="kpi rag-{{ t.status or 'none' }}" data-key="{{ t.key }}">
    <div class="kpi-label">{{ t.label }}</div>
    <div class="kpi-value">{{ t.value }}</div>
    <div class="kpi-meta mom">
      {% if t.delta %}<span class="delta {{ t.delta.tone }}">{{ t.delta.arrow }} {{ t.delta.text }}</span> vs {{ previous }}{% else %}<span class="delta flat">no comparison</span>{% endif %}
    </div>
    {% if t.delta and t.significant is not none %}<div class="kpi-meta sig {{ 'yes' if t.significant else 'no' }}">{{ 'significant change' if t.significant else 'within sampling noise' }}</div>{% endif %}
    {% if t.yoy %}<div class="kpi-meta yoy"><span class="delta {{ t.yoy.tone }}">{{ t.yoy.arrow }} {{ t.yoy.text }}</span> vs {{ year_ago }}</div>{% endif %}
    <div class="kpi-target">{% if t.target %}target {{ t.direction }} {{ t.target }}{% else %}no target{% endif %}</div>
    {% if t.mix %}<div class="kpi-mix"><span class="g">{{ t.mix.green }}</span> healthy · <span class="a">{{ t.mix.amber }}</span> watch · <span class="r">{{ t.mix.red }}</span> at risk</div>{% endif %}
  </div>
{% endfor %}
</div>
""")


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


_TABLE = env.from_string("""
<table class="metric-table">
  <thead><tr><th>{{ title }}</th><th class="num">{{ period }}</th><th class="num">vs {{ previous }}</th><th class="num">vs {{ year_ago }}</th><th class="num">Target</th><th>Status</th></tr></thead>
  <tbody>
  {% for r in rows %}
    <tr data-key="{{ r.key }}">
      <td>{{ r.label }}{% if r.extra %} <span class="muted">{{ r.extra }}</span>{% endif %}{% if r.note %}<div class="note">{{ r.note }}</div>{% endif %}</td>
      <td class="num strong">{{ r.value }}</td>
      <td class="num">{% if r.delta %}<span class="delta {{ r.delta.tone }}">{{ r.delta.arrow }} {{ r.delta.text }}</span>{% if r.significant is not none %}<span class="sig {{ 'yes' if r.significant else 'no' }}" title="95% significance test">{{ '*' if r.significant else '' }}</span>{% endif %}{% else %}–{% endif %}</td>
      <td class="num">{% if r.yoy %}<span class="delta {{ r.yoy.tone }}">{{ r.yoy.arrow }} {{ r.yoy.text }}</span>{% else %}–{% endif %}</td>
      <td class="num muted">{% if r.target %}{{ r.direction }} {{ r.target }}{% else %}–{% endif %}</td>
      <td>{% if r.status %}<span class="pill rag-{{ r.status }}">{{ r.status }}</span>{% else %}<span class="muted">–</span>{% endif %}</td>
    </tr>
  {% endfor %}
  </tbody>
</table>
{% if footnote %}<div class="note">* change vs {{ previous }} is statistically significant (95 %, SPEC test); no star: within sampling noise.</div>{% endif %}
""")


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


_AT_RISK = env.from_string("""
<table class="metric-table at-risk">
  <thead><tr><th>Customer</th><th>Segment</th><th class="num">MRR</th><th class="num">Health</th><th>Weakest component</th></tr></thead>
  <tbody>
  {% for r in rows %}
    <tr><td>{{ r.name }}</td><td>{{ r.segment }}</td><td class="num">{{ r.mrr }}</td>
        <td class="num"><span class="pill rag-{{ r.band }}">{{ r.health }}</span></td><td>{{ r.reason }}</td></tr>
  {% else %}
    <tr><td colspan="5" class="muted">{{ empty }}</td></tr>
  {% endfor %}
  </tbody>
</table>
""")


def at_risk(model: ReportModel) -> Fragment:
    """The customers most at risk, as the model lists them."""
    if not model.at_risk:
        empty = model.notes.get("health_avg") or "No customers active in the period."
        return Fragment(_AT_RISK.render(rows=[], empty=empty))
    rows = [{"name": r.name, "segment": r.segment, "mrr": money(r.mrr), "health": f"{r.health:.0f}", "band": r.band,
             "reason": f"{COMPONENT_TEXT.get(r.weakest, r.weakest)} ({r.weakest_score:.0f}/100)"}
            for r in model.at_risk]
    return Fragment(_AT_RISK.render(rows=rows))


_COMMENTS = env.from_string("""
<div class="comments">
{% for c in comments %}
  <blockquote class="comment tone-{{ c.tone }}"><p>“{{ c.text }}”</p>
  <footer>{{ c.account }} · NPS {{ c.score }} · {{ c.date }}</footer></blockquote>
{% else %}
  <p class="muted">No survey comments this month.</p>
{% endfor %}
</div>
""")
_TONE = {"promoter": "good", "passive": "flat", "detractor": "bad"}


def comments(model: ReportModel) -> Fragment:
    """The model's sample of this month's verbatim NPS comments (escaped: untrusted text)."""
    from datetime import date

    items = [{"text": c.text, "account": c.account, "score": c.score, "tone": _TONE[c.category],
              "date": date.fromisoformat(c.responded_on).strftime("%d %b")} for c in model.comments]
    return Fragment(_COMMENTS.render(comments=items))


_QUALITY = env.from_string("""
<table class="metric-table quality">
  <thead><tr><th>Table</th><th>Source</th><th class="num">Rows</th><th class="num">Rejected</th><th>Findings</th></tr></thead>
  <tbody>
  {% for q in rows %}
    <tr><td>{{ q.table }}</td><td class="muted small">{{ q.location or "not provided" }}</td>
        <td class="num">{{ "{:,}".format(q.rows) }}</td>
        <td class="num">{% if q.rejected %}<span class="pill rag-amber">{{ "{:,}".format(q.rejected) }}</span>{% else %}0{% endif %}</td>
        <td class="small">{% for p in q.problems %}<div>{{ p }}</div>{% else %}<span class="muted">none</span>{% endfor %}</td></tr>
  {% endfor %}
  </tbody>
</table>
""")


def data_quality(model: ReportModel) -> Fragment:
    return Fragment(_QUALITY.render(rows=list(model.data_quality.values())))


_PROVENANCE = env.from_string("""
<div class="provenance">
  Period {{ period }} ({{ p.timezone }}) · source {{ p.source }} ({{ p.source_kind }}, fingerprint {{ p.fingerprint }}) ·
  csreport {{ p.csreport_version }} · generated {{ p.generated_at }}
</div>
""")


def provenance(model: ReportModel) -> Fragment:
    return Fragment(_PROVENANCE.render(p=model.provenance, period=model.period))


def figure_row(*charts: Chart) -> Fragment:
    """Charts side by side (two half-width charts make one row on the page)."""
    cells = "".join(chart._repr_html_() for chart in charts)
    return Fragment(f'<div class="chart-row">{cells}</div>')  # SVG from our own charts: trusted markup


_SEGMENTS = env.from_string("""
<table class="metric-table segments">
  <thead><tr><th>Metric</th><th class="num">All</th>{% for s in segments %}<th class="num">{{ s }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for r in rows %}
    <tr><td>{{ r.label }}</td>
      {% for c in r.cells %}<td class="num"><span class="cell-rag rag-{{ c.status or 'none' }}">{{ c.value }}</span></td>{% endfor %}
    </tr>
  {% endfor %}
  </tbody>
</table>
<div class="note">Cells are coloured by status against the segment's own target where one is set.</div>
""")


def segment_table(model: ReportModel, keys: list[str]) -> Fragment:
    """Metrics by segment with RAG-coloured cells."""
    scopes: list[Scope] = [model, *model.segments.values()]
    rows = [{"label": BY_KEY[key].label,
             "cells": [{"value": fmt(key, s.value(key)), "status": s.status.get(key)} for s in scopes]}
            for key in keys]
    return Fragment(_SEGMENTS.render(rows=rows, segments=list(model.segments)))
