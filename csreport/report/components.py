"""HTML building blocks of the report: KPI tiles, metric tables, at-risk list, comments.

All text that comes from data (account names, survey comments) is untrusted and
goes through Jinja's autoescaping; nothing here marks data as safe.
"""
from __future__ import annotations

from IPython.display import HTML, SVG, display
from jinja2 import Environment, select_autoescape

from ..benchmark.compare import significance
from ..benchmark.targets import direction_of
from ..metrics.catalog import BY_KEY
from . import charts
from .context import ReportContext
from .formatting import HEADLINE, delta, fmt, money

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=True,
                   lstrip_blocks=True)

TILE_LABELS = {"grr_pct": "GRR (monthly)", "nrr_pct": "NRR (monthly)", "health_green_pct": "Health mix"}


def show(item) -> None:
    """Display a chart (matplotlib Figure) as SVG, or an HTML fragment, in the notebook."""
    if hasattr(item, "savefig"):
        display(SVG(charts.to_svg(item)))
    else:
        display(HTML(item))


def significant(ctx: ReportContext, key: str) -> bool | None:
    """The SPEC §3 significance test of this month vs last month (NPS, CSAT, CES; else None)."""
    return significance(key, ctx.current.values.get(key), ctx.current.stats.get(key),
                        ctx.previous.values.get(key), ctx.previous.stats.get(key))


def year_ago(ctx: ReportContext, key: str):
    """The metric 12 months earlier: recomputed trend when available, else from the history store."""
    last_year = str(ctx.period.shift(-12))
    if key in ctx.trends.columns and last_year in ctx.trends.index:
        value = ctx.trends.at[last_year, key]
        return None if value != value else float(value)  # NaN -> None
    change = ctx.evaluation.comparison.get(key, {}).get("yoy_delta")
    now = ctx.current.values.get(key)
    return None if change is None or now is None else now - change


def _row(ctx: ReportContext, key: str) -> dict:
    target = ctx.targets.lookup(key)
    value = ctx.current.values.get(key)
    return {
        "significant": significant(ctx, key),
        "yoy": delta(key, value, year_ago(ctx, key)),
        "key": key,
        "label": BY_KEY[key].label,
        "value": fmt(key, value),
        "target": None if target is None else fmt(key, target.target),
        "direction": "" if target is None else {"higher": "≥", "lower": "≤"}[direction_of(key, target)],
        "status": ctx.current.status.get(key),
        "delta": delta(key, value, ctx.previous.values.get(key)),
        "note": ctx.current.notes.get(key) if value is None else None,
    }


_TILES = _env.from_string("""
<div class="kpi-grid">
{% for t in tiles %}
  <div class="kpi rag-{{ t.status or 'none' }}">
    <div class="kpi-label">{{ t.label }}</div>
    <div class="kpi-value">{{ t.value }}</div>
    <div class="kpi-meta">
      {% if t.delta %}<span class="delta {{ t.delta.tone }}">{{ t.delta.arrow }} {{ t.delta.text }}</span> vs {{ previous }}{% else %}<span class="delta flat">no comparison</span>{% endif %}
    </div>
    {% if t.delta and t.significant is not none %}<div class="kpi-meta sig {{ 'yes' if t.significant else 'no' }}">{{ 'significant change' if t.significant else 'within sampling noise' }}</div>{% endif %}
    {% if t.yoy %}<div class="kpi-meta"><span class="delta {{ t.yoy.tone }}">{{ t.yoy.arrow }} {{ t.yoy.text }}</span> vs last year</div>{% endif %}
    <div class="kpi-target">{% if t.target %}target {{ t.direction }} {{ t.target }}{% else %}no target{% endif %}</div>
    {% if t.mix %}<div class="kpi-mix"><span class="g">{{ t.mix.green }}</span> healthy · <span class="a">{{ t.mix.amber }}</span> watch · <span class="r">{{ t.mix.red }}</span> at risk</div>{% endif %}
  </div>
{% endfor %}
</div>
""")


def kpi_tiles(ctx: ReportContext, keys: list[str] | None = None) -> str:
    """The headline tiles: value, target, RAG colour and change vs last month."""
    tiles = [_row(ctx, k) for k in (keys or HEADLINE)]
    for tile in tiles:
        tile["label"] = TILE_LABELS.get(tile["key"], tile["label"])
        if tile["key"] == "health_green_pct":  # the health tile shows the whole mix
            tile["mix"] = {band: fmt(f"health_{band}_pct", ctx.current.values.get(f"health_{band}_pct"))
                           for band in ("green", "amber", "red")}
    return _TILES.render(tiles=tiles, previous=ctx.period.previous.start_date.strftime("%b"))


_TABLE = _env.from_string("""
<table class="metric-table">
  <thead><tr><th>{{ title }}</th><th class="num">{{ period }}</th><th class="num">vs {{ previous }}</th><th class="num">vs last year</th><th class="num">Target</th><th>Status</th></tr></thead>
  <tbody>
  {% for r in rows %}
    <tr>
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


def metric_table(ctx: ReportContext, keys: list[str], title: str = "Metric", extras: dict[str, str] | None = None) -> str:
    rows = []
    for key in keys:
        row = _row(ctx, key)
        row["extra"] = (extras or {}).get(key)
        rows.append(row)
    footnote = any(r["significant"] is not None for r in rows)
    return _TABLE.render(rows=rows, title=title, period=ctx.period.start_date.strftime("%b %Y"),
                         previous=ctx.period.previous.start_date.strftime("%b"), footnote=footnote)


def survey_extras(ctx: ReportContext) -> dict[str, str]:
    v = ctx.current.values
    extras = {}
    if v.get("nps_responses") is not None:
        moe = v.get("nps_moe95")
        extras["nps"] = f"n={v['nps_responses']}" + (f", ±{moe:.0f}" if moe is not None else "")
    if v.get("csat_responses") is not None:
        extras["csat_pct"] = f"n={v['csat_responses']}"
    if v.get("ces_responses") is not None:
        extras["ces_avg"] = f"n={v['ces_responses']}"
    return extras


_AT_RISK = _env.from_string("""
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

_COMPONENT_TEXT = {
    "usage": "low product usage",
    "feedback": "unhappy survey feedback",
    "support": "support SLA misses",
    "payment": "late or missing payments",
}


def at_risk(ctx: ReportContext, limit: int | None = None) -> str:
    """The customers most at risk: lowest health first, larger MRR first on ties."""
    limit = ctx.config.report.at_risk_shown if limit is None else limit
    health = ctx.current.health
    if health.empty:
        return _AT_RISK.render(rows=[], empty="No customers active in the period.")
    if health["health"].isna().all():
        return _AT_RISK.render(rows=[], empty=ctx.current.notes.get("health_avg", "Health scores are not available."))
    scores = health.sort_values(["health", "mrr"], ascending=[True, False]).head(limit)
    rows = [
        {"name": r.name, "segment": r.segment, "mrr": money(r.mrr), "health": f"{r.health:.0f}",
         "band": r.band, "reason": f"{_COMPONENT_TEXT.get(r.weakest, r.weakest)} ({getattr(r, r.weakest):.0f}/100)"}
        for r in scores.itertuples()
    ]
    return _AT_RISK.render(rows=rows)


_COMMENTS = _env.from_string("""
<div class="comments">
{% for c in comments %}
  <blockquote class="comment tone-{{ c.tone }}"><p>“{{ c.text }}”</p>
  <footer>{{ c.account }} · NPS {{ c.score }} · {{ c.date }}</footer></blockquote>
{% else %}
  <p class="muted">No survey comments this month.</p>
{% endfor %}
</div>
""")


def comments(ctx: ReportContext, limit: int | None = None) -> str:
    """A balanced selection of this month's verbatim NPS comments (escaped: untrusted text)."""
    limit = ctx.config.report.comments_shown if limit is None else limit
    surveys = ctx.data.surveys
    if surveys is None or "comment" not in surveys:
        return _COMMENTS.render(comments=[])
    tz = ctx.config.timezone
    rows = surveys[(surveys["survey"] == "nps") & surveys["comment"].notna()
                   & (surveys["responded_at"] >= ctx.period.start(tz)) & (surveys["responded_at"] < ctx.period.end(tz))]
    rows = rows.sort_values("responded_at", ascending=False)
    names = ctx.data.accounts.set_index("account_id")["name"]
    groups = [rows[rows["score"] <= 6], rows[rows["score"] >= 9], rows[(rows["score"] >= 7) & (rows["score"] <= 8)]]
    groups = [g.drop_duplicates("comment") for g in groups]
    picked, seen = [], set()
    while len(picked) < limit and any(len(g) for g in groups):  # alternate detractor, promoter, passive
        for i, group in enumerate(groups):
            if len(group) and len(picked) < limit:
                if group.iloc[0]["comment"] not in seen:
                    picked.append(group.iloc[0])
                    seen.add(group.iloc[0]["comment"])
                groups[i] = group.iloc[1:]
    items = [{"text": r["comment"], "account": names.get(r["account_id"], r["account_id"]), "score": int(r["score"]),
              "date": r["responded_at"].strftime("%d %b"),
              "tone": "bad" if r["score"] <= 6 else "good" if r["score"] >= 9 else "flat"} for r in picked]
    return _COMMENTS.render(comments=items)


_QUALITY = _env.from_string("""
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


def data_quality(ctx: ReportContext) -> str:
    return _QUALITY.render(rows=list(ctx.data.quality.values()))


_PROVENANCE = _env.from_string("""
<div class="provenance">
  Period {{ p.period }} ({{ p.timezone }}) · source {{ p.source }} ({{ p.source_kind }}, fingerprint {{ p.fingerprint }}) ·
  csreport {{ p.csreport_version }} · generated {{ p.generated_at }}
</div>
""")


def provenance(ctx: ReportContext) -> str:
    return _PROVENANCE.render(p=ctx.provenance)


def figure_row(*figures) -> str:
    """Charts side by side (two half-width charts make one row on the page)."""
    cells = "".join(f'<figure class="chart">{charts.to_svg(f)}</figure>' for f in figures)
    return f'<div class="chart-row">{cells}</div>'  # SVG from our own charts: trusted markup


_SEGMENTS = _env.from_string("""
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


def segment_table(ctx: ReportContext, keys: list[str]) -> str:
    """Metrics by segment with RAG-coloured cells."""
    segments = ctx.evaluation.segments
    rows = []
    for key in keys:
        cells = [{"value": fmt(key, ctx.current.values.get(key)), "status": ctx.current.status.get(key)}]
        cells += [{"value": fmt(key, seg.values.get(key)), "status": seg.status.get(key)} for seg in segments.values()]
        rows.append({"label": BY_KEY[key].label, "cells": cells})
    return _SEGMENTS.render(rows=rows, segments=list(segments))
