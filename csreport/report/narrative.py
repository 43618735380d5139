"""Short generated sentences per report section: what changed and whether it matters.

Example: "NPS +42 (±5, n=310), up 6 from September — significant; meets the target of +40."
All text is built from numbers; the HTML is rendered with autoescaping like every fragment.
"""
from __future__ import annotations

from ..metrics.catalog import BY_KEY
from .components import _env, significant
from .context import ReportContext
from .formatting import fmt, money

_LIST = _env.from_string('<div class="narrative"><ul>{% for s in sentences %}<li>{{ s }}</li>{% endfor %}</ul></div>')
_VERDICT = {"green": "meets", "amber": "just misses", "red": "misses"}


def change_words(key: str, now: float, before: float | None, month: str) -> str:
    """'up 6 from September', 'down 0.3 pp from September', 'unchanged from September'."""
    if before is None:
        return ""
    change = now - before
    unit = BY_KEY[key].unit
    if abs(change) < 1e-9:
        return f"unchanged from {month}"
    if unit == "currency":
        size = f"{abs(100 * change / before):.1f}%" if before else money(abs(change))
    elif unit == "pct":
        size = f"{abs(change):.1f} pp"
    elif unit == "count":
        size = f"{abs(change):,.0f}"
    else:
        size = f"{abs(change):.1f}"
    return f"{'up' if change > 0 else 'down'} {size} from {month}"


def target_words(ctx: ReportContext, key: str) -> str:
    status = ctx.current.status.get(key)
    target = ctx.targets.lookup(key)
    if status is None or target is None:
        return ""
    return f"{_VERDICT[status]} the target of {fmt(key, target.target)}"


def sentence(ctx: ReportContext, key: str) -> str | None:
    value = ctx.current.values.get(key)
    if value is None:
        return None
    month = ctx.period.previous.start_date.strftime("%B")
    text = f"{BY_KEY[key].label} {fmt(key, value)}"
    if key in ("nps", "csat_pct", "ces_avg"):
        n_key = {"nps": "nps_responses", "csat_pct": "csat_responses", "ces_avg": "ces_responses"}[key]
        moe = f"±{ctx.current.values['nps_moe95']:.0f}, " if key == "nps" and ctx.current.values.get("nps_moe95") is not None else ""
        text += f" ({moe}n={ctx.current.values[n_key]:,})"
    change = change_words(key, value, ctx.previous.values.get(key), month)
    if change:
        text += f", {change}"
        sig = significant(ctx, key)
        if sig is not None:
            text += " — significant" if sig else " — within noise"
    verdict = target_words(ctx, key)
    return text + (f"; {verdict}" if verdict else "") + "."


def _render(sentences: list[str | None]) -> str:
    kept = [s for s in sentences if s]
    return _LIST.render(sentences=kept) if kept else ""  # no empty box when a section has no data


def summary(ctx: ReportContext) -> str:
    """Page 1: the month in five lines."""
    v = ctx.current.values
    lines: list[str | None] = []
    if v.get("mrr_end") is not None and v.get("mrr_start"):
        growth = 100 * (v["mrr_end"] - v["mrr_start"]) / v["mrr_start"]
        lines.append(f"MRR {'grew' if growth >= 0 else 'fell'} {abs(growth):.1f}% to {fmt('mrr_end', v['mrr_end'])}: "
                     f"{fmt('mrr_new', v['mrr_new'])} new, {fmt('mrr_expansion', v['mrr_expansion'])} expansion, "
                     f"{fmt('mrr_churned', v['mrr_churned'])} churned.")
    lines += [sentence(ctx, "nrr_pct"), sentence(ctx, "logo_churn_rate_pct"), sentence(ctx, "nps")]
    lines.append(health_risk(ctx))
    return _render(lines)


def health_risk(ctx: ReportContext) -> str | None:
    health = ctx.current.health
    if ctx.current.values.get("health_red_pct") is None:
        return None
    red = health[health["band"] == "red"]
    return (f"{len(red):,} customers ({fmt('health_red_pct', ctx.current.values['health_red_pct'])}) are in the red "
            f"health band, holding {money(red['mrr'].sum())} of MRR.")


def section(ctx: ReportContext, keys: list[str]) -> str:
    """One sentence per metric of a section."""
    return _render([sentence(ctx, key) for key in keys])
