"""Short generated sentences per report section: what changed and whether it matters.

Example: "NPS +42 (±5, n=310), up 6 pts from Sep 2026 — significant; meets the target of ≥ +40."
Every sentence is built from the model's numbers and must be true against the numbers the
report shows: the MRR sentence names every part of the bridge with amounts that add up to
the change (:func:`~csreport.report.formatting.bridge_figures`); a verdict follows the
model's status ("just misses" only within the amber tolerance, with the gap stated); a
change within sampling noise says so. Page 1 says each headline once: :data:`SUMMARY_KEYS`
are left out of the section sentences, so no sentence is repeated on another page.
The HTML is rendered with autoescaping.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..metrics.catalog import BY_KEY, NOT_AVAILABLE
from ..model import ReportModel
from . import definitions as defs
from .formatting import BRIDGE_STEPS, DIRECTION_SIGN, bridge_figures, change_size, fmt, money, month_label
from .html import Fragment, env

if TYPE_CHECKING:  # the parent of `csreport run` imports this module: no pandas for a type
    from ..model.account import AccountModel

_LIST = env.get_template("fragments/narrative.html.j2")
_RESPONSES = {"nps": "nps_responses", "csat_pct": "csat_responses", "ces_avg": "ces_responses",
              "support_csat_pct": "support_csat_responses"}
# the metrics page 1 speaks about; the sections do not repeat them
SUMMARY_KEYS = ("mrr_end", "nrr_ttm_pct", "grr_ttm_pct", "logo_churn_rate_pct", "nps", "health_red_pct")
COMPONENT_WORDS = {"usage": "usage", "feedback": "feedback", "support": "support", "payment": "payment"}
DOMAIN_WORDS = {"revenue": "revenue", "surveys": "customer voice", "support": "support",
                "engagement": "product engagement", "referrals": "referrals", "onboarding": "onboarding",
                "health": "customer health"}


def change_words(key: str, now: float, before: float | None, month: str) -> str:
    """'up 6 pts from Sep 2026', 'down 0.3 pp from ...', 'unchanged from ...' (as shown: rounded)."""
    if before is None:
        return ""
    size = change_size(key, now, before)
    if not any(ch in "123456789" for ch in size):
        return f"unchanged from {month}"
    return f"{'up' if now > before else 'down'} {size} from {month}"


def target_words(model: ReportModel, key: str) -> str:
    """'meets the target of ≤ 1.0%', 'just misses the target of ≥ 99.2% (by 0.3 pp, within the 0.5 pp
    tolerance)', 'misses the target of ≥ +40 by 12 pts' — by the model's status, never by a guess."""
    status = model.status.get(key)
    target = model.targets.get(key)
    value = model.value(key)
    if status is None or target is None or value is None:
        return ""
    goal = f"the target of {DIRECTION_SIGN[target.direction]} {fmt(key, target.target)}"
    if status == "green":
        return f"meets {goal}"
    gap = change_size(key, value, target.target)
    if status == "amber":
        tolerance = change_size(key, target.target + target.amber, target.target)
        return f"just misses {goal} (by {gap}, within the {tolerance} tolerance)"
    return f"misses {goal} by {gap}"


def sentence(model: ReportModel, key: str) -> str | None:
    value = model.value(key)
    if value is None:
        return None
    text = _OPENINGS[key](model) if key in _OPENINGS else f"{BY_KEY[key].label} {fmt(key, value)}"
    if key in _RESPONSES:
        moe = model.value("nps_moe95") if key == "nps" else None
        margin = f"±{moe:.0f}, " if moe is not None else ""
        text += f" ({margin}n={model.value(_RESPONSES[key]):,})"
    change = model.change(key)
    words = change_words(key, value, change.previous, month_label(model.previous_period))
    if words:
        text += f", {words}"
        if change.significant is not None and not words.startswith("unchanged"):
            text += " — a significant change" if change.significant else " — within sampling noise"
    verdict = target_words(model, key)
    return text + (f"; {verdict}" if verdict else "") + "."


def time_in_product_opening(model: ReportModel) -> str:
    """'2,310 users had 10,040 sessions (4.35 each, median 4.3 min); time in product 0.5 h per user'."""
    users, count = model.value("session_users"), model.value("sessions")
    median = model.value("session_minutes_median")
    each = f"{fmt('sessions_per_user_avg', model.value('sessions_per_user_avg'))} each"
    length = f", median {fmt('session_minutes_median', median)}" if median is not None else ""
    key = "time_in_product_hours_per_user"
    return (f"{users:,} user{'s' if users != 1 else ''} had {count:,} session{'s' if count != 1 else ''} "
            f"({each}{length}); time in product {fmt(key, model.value(key))} per user")


# metrics whose sentence opens with more than 'label value' (then change and verdict as for any metric)
_OPENINGS = {"time_in_product_hours_per_user": time_in_product_opening}


def _render(sentences: list[str | None]) -> Fragment:
    kept = [s for s in sentences if s]
    return Fragment(_LIST.render(sentences=kept) if kept else "")  # no empty box when a section has no data


def mrr_sentence(model: ReportModel) -> str | None:
    """'MRR grew 4.1% from $4,712.3k to $4,907.2k (+$194.9k): +$141.6k new, +$14.7k reactivation,
    +$72.4k expansion, −$9.5k contraction, −$24.2k churned.' The shown amounts add up."""
    bridge = bridge_figures(model.metrics)
    start = model.value("mrr_start")
    if bridge is None or not start:
        return None
    growth = 100 * (model.value("mrr_end") - start) / start
    verb = "grew" if growth > 0 else "fell" if growth < 0 else "held"
    parts = ", ".join(f"{bridge.text(units, signed=True)} {word}" for _, word, units in bridge.parts)
    return (f"MRR {verb} {abs(growth):.1f}% from {bridge.text(bridge.start)} to {bridge.text(bridge.end)} "
            f"({bridge.text(bridge.change, signed=True)}): {parts}.")


def summary_sentences(model: ReportModel) -> list[str]:
    """Page 1: the month in a few lines (also the email's summary)."""
    lines: list[str | None] = [mrr_sentence(model)]
    lines += [sentence(model, key) for key in SUMMARY_KEYS if key not in ("mrr_end", "health_red_pct")]
    lines.append(health_risk(model))
    return [line for line in lines if line]


def summary(model: ReportModel) -> Fragment:
    said = ["mrr_start", *(key for key, _, _ in BRIDGE_STEPS), *SUMMARY_KEYS]
    defs.note_shown(key for key in said if model.value(key) is not None)
    return _render(list(summary_sentences(model)))


def health_risk(model: ReportModel) -> str | None:
    red_pct = model.value("health_red_pct")
    red = model.health_bands.get("red")
    if red_pct is None or red is None:
        return None
    who = "1 customer (" if red.customers == 1 else f"{red.customers:,} customers ("
    verb = "is" if red.customers == 1 else "are"
    return f"{who}{fmt('health_red_pct', red_pct)}) {verb} in the red health band, holding {money(red.mrr)} of MRR."


def section(model: ReportModel, keys: list[str]) -> Fragment:
    """One sentence per metric of a section; page 1's metrics are not said again."""
    said = [key for key in keys if key not in SUMMARY_KEYS and model.value(key) is not None]
    defs.note_shown(said)
    defs.note_shown(_RESPONSES[key] for key in said if key in _RESPONSES)
    if "time_in_product_hours_per_user" in said:
        defs.note_shown(["session_users", "sessions", "sessions_per_user_avg", "session_minutes_median"])
    return _render([sentence(model, key) for key in said])


# -- does the health score predict churn? (the health backtest, read in plain words) -------------------
# how an AUC reads: the usual bands of discrimination (Hosmer & Lemeshow, Applied Logistic Regression:
# 0.5 = chance, 0.7–0.8 acceptable, 0.8–0.9 excellent, ≥ 0.9 outstanding), lowest first
AUC_READINGS = ((0.5, "worse than chance: the customers who churned had, on the whole, scored higher than "
                      "those who stayed"),
                (0.6, "barely better than chance: the score hardly told churners from the others"),
                (0.7, "weak: better than chance, but too weak to rely on"),
                (0.8, "useful: churners mostly scored lower than the customers who stayed"),
                (0.9, "strong: churners scored lower than the customers who stayed in most pairs"),
                (float("inf"), "outstanding: churners almost always scored lower"))
AUC_SCALE = "0.5 = no better than chance, 0.7 or more = useful, 0.8 or more = strong"
# below this many churned (or retained) customers the AUC is too uncertain to read a band from: with 20
# churned among a few hundred, its 95 % interval is still about ±0.13 (Hanley & McNeil's standard error)
BACKTEST_MIN_GROUP = 20


def auc_band(auc: float) -> str:
    """The plain-words band of an AUC (0–1) from :data:`AUC_READINGS`; exactly 0.5 reads as chance."""
    if auc == 0.5:
        return "no better than chance: the score told churners from the others no better than a coin"
    return next(words for below, words in AUC_READINGS if auc < below)


def backtest_reading(model: ReportModel) -> str:
    """The health backtest's AUC in plain words: its band, and when the n is too small to say."""
    auc = model.value("health_backtest_auc")
    churned = model.value("health_backtest_churned") or 0
    customers = model.value("health_backtest_customers") or 0
    if auc is None:
        return "Not measurable this month: " + model.notes.get("health_backtest_auc", "no backtest data") + "."
    smallest = min(churned, customers - churned)
    text = f"AUC {fmt('health_backtest_auc', auc)}: {auc_band(auc)}."
    if smallest < BACKTEST_MIN_GROUP:
        group = "churned" if churned <= customers - churned else "stayed"
        text += (f" But only {smallest:,} customer{'s' if smallest != 1 else ''} {group}: too few to say "
                 f"(it takes at least {BACKTEST_MIN_GROUP} to tell a band apart).")
    return text


# -- honest gaps: one line each, on page 1 and in `csreport run`'s output ------------------------------
def unfinished_line(model: ReportModel | AccountModel) -> str | None:
    """'November 2026 was not over when these figures were computed (25 November 2026, UTC): ...'"""
    made_on = model.unfinished_as_of
    if made_on is None:
        return None
    month = model.month
    when = f"when these figures were computed ({made_on.day} {made_on:%B %Y}, {model.settings.timezone})"
    if made_on < month.start_date.date():
        return f"{month.label} had not begun {when}: none of its activity is in them."
    return (f"{month.label} was not over {when}: they cover the month so far. Counts and totals are partial, and "
            f"daily averages (DAU) divide by all {month.days} days.")


def quarantine_line(model: ReportModel) -> str | None:
    """'12 invalid rows were set aside and left out: tickets 10, surveys 2 (see Data quality).'"""
    rejected = model.quarantined()
    if not rejected:
        return None
    total = sum(rejected.values())
    tables = ", ".join(f"{table} {count:,}" for table, count in rejected.items())
    revenue = model.data_quality.get("revenue")
    left_out = revenue.excluded_accounts if revenue is not None else 0
    accounts = (f" {left_out:,} account{'s' if left_out != 1 else ''} with rejected revenue rows "
                f"{'are' if left_out != 1 else 'is'} left out of the revenue and customer metrics.") if left_out else ""
    return (f"{total:,} invalid row{'s were' if total != 1 else ' was'} set aside and left out of every figure: "
            f"{tables} (see Data quality).{accounts}")


def unavailable_line(model: ReportModel) -> str | None:
    """'Not in this report: customer voice (not available: the data source has no surveys table); ...'"""
    if not model.unavailable:
        return None
    parts = [f"{DOMAIN_WORDS.get(domain, domain)} ({_reason(reason)})" for domain, reason in model.unavailable.items()]
    return "Not in this report: " + "; ".join(parts) + "."


def _reason(note: str) -> str:
    return note.removeprefix(f"{NOT_AVAILABLE}: ")


def health_caveat(model: ReportModel) -> str | None:
    """'Health is scored from feedback and support only: usage left out (the data source has no events
    table), payment left out (...). Weights are rescaled over the components used.'"""
    if not model.health_missing or not model.health_components:
        return None
    used = " and ".join(COMPONENT_WORDS[c] for c in model.health_components) if len(model.health_components) < 3 \
        else ", ".join(COMPONENT_WORDS[c] for c in model.health_components)
    left = "; ".join(f"{COMPONENT_WORDS[c]} left out ({why})" for c, why in model.health_missing.items())
    return f"Health is scored from {used} only: {left}. The weights are rescaled over the components used."


def gap_lines(model: ReportModel) -> list[str]:
    """What the numbers leave out, one line each: an unfinished month, unavailable sections, quarantined rows."""
    return [line for line in (unfinished_line(model), unavailable_line(model), quarantine_line(model)) if line]


def gaps(model: ReportModel) -> Fragment:
    """Page 1's notes on what the numbers leave out (:func:`gap_lines`) and on restated months."""
    lines = gap_lines(model)
    if model.restatements:
        count = len(model.restatements)
        lines.append(f"{count} recorded value{'s' if count != 1 else ''} of earlier months "
                     f"{'differ' if count != 1 else 'differs'} from the data today (see Restated months).")
    return Fragment(env.get_template("fragments/gaps.html.j2").render(lines=lines) if lines else "")
