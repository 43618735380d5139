"""Short generated sentences per report section: what changed and whether it matters.

Example: "NPS +42 (±5, n=310), up 6 pts from September 2026 — significant; meets the target of +40."
Every sentence is built from the model's numbers; the HTML is rendered with autoescaping.
"""
from __future__ import annotations

from ..metrics.catalog import BY_KEY
from ..model import ReportModel
from .formatting import fmt, money, month_label, unit_of
from .html import Fragment, env

_LIST = env.get_template("fragments/narrative.html.j2")
_VERDICT = {"green": "meets", "amber": "just misses", "red": "misses"}
_RESPONSES = {"nps": "nps_responses", "csat_pct": "csat_responses", "ces_avg": "ces_responses"}


def change_words(key: str, now: float, before: float | None, month: str) -> str:
    """'up 6 pts from September 2026', 'down 0.3 pp from ...', 'unchanged from ...'."""
    if before is None:
        return ""
    change = now - before
    unit = unit_of(key)
    if abs(change) < 1e-9:
        return f"unchanged from {month}"
    if unit == "currency":
        size = f"{abs(100 * change / before):.1f}%" if before else money(abs(change))
    elif unit == "pct":
        size = f"{abs(change):.1f} pp"
    elif unit == "count":
        size = f"{abs(change):,.0f}"
    elif key == "nps":
        size = f"{abs(change):.0f} pts"
    else:
        size = f"{abs(change):.1f}" + {"hours": " h", "days": " days"}.get(unit, "")
    return f"{'up' if change > 0 else 'down'} {size} from {month}"


def target_words(model: ReportModel, key: str) -> str:
    status = model.status.get(key)
    target = model.targets.get(key)
    if status is None or target is None:
        return ""
    return f"{_VERDICT[status]} the target of {fmt(key, target.target)}"


def sentence(model: ReportModel, key: str) -> str | None:
    value = model.value(key)
    if value is None:
        return None
    text = f"{BY_KEY[key].label} {fmt(key, value)}"
    if key in _RESPONSES:
        moe = model.value("nps_moe95") if key == "nps" else None
        margin = f"±{moe:.0f}, " if moe is not None else ""
        text += f" ({margin}n={model.value(_RESPONSES[key]):,})"
    change = model.change(key)
    words = change_words(key, value, change.previous, month_label(model.previous_period))
    if words:
        text += f", {words}"
        if change.significant is not None:
            text += " — significant" if change.significant else " — within noise"
    verdict = target_words(model, key)
    return text + (f"; {verdict}" if verdict else "") + "."


def _render(sentences: list[str | None]) -> Fragment:
    kept = [s for s in sentences if s]
    return Fragment(_LIST.render(sentences=kept) if kept else "")  # no empty box when a section has no data


def summary_sentences(model: ReportModel) -> list[str]:
    """Page 1: the month in five lines (also the email's summary)."""
    lines: list[str | None] = []
    start, end = model.value("mrr_start"), model.value("mrr_end")
    if end is not None and start:
        growth = 100 * (end - start) / start
        lines.append(f"MRR {'grew' if growth >= 0 else 'fell'} {abs(growth):.1f}% to {fmt('mrr_end', end)}: "
                     f"{fmt('mrr_new', model.value('mrr_new'))} new, "
                     f"{fmt('mrr_expansion', model.value('mrr_expansion'))} expansion, "
                     f"{fmt('mrr_churned', model.value('mrr_churned'))} churned.")
    lines += [sentence(model, "nrr_pct"), sentence(model, "logo_churn_rate_pct"), sentence(model, "nps")]
    lines.append(health_risk(model))
    return [line for line in lines if line]


def summary(model: ReportModel) -> Fragment:
    return _render(list(summary_sentences(model)))


def health_risk(model: ReportModel) -> str | None:
    red_pct = model.value("health_red_pct")
    red = model.health_bands.get("red")
    if red_pct is None or red is None:
        return None
    return (f"{red.customers:,} customers ({fmt('health_red_pct', red_pct)}) are in the red "
            f"health band, holding {money(red.mrr)} of MRR.")


def section(model: ReportModel, keys: list[str]) -> Fragment:
    """One sentence per metric of a section."""
    return _render([sentence(model, key) for key in keys])
