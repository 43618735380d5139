"""The account review's components: one customer's health, revenue, usage, support, voice and bills.

Each reads the :class:`~csreport.model.account.AccountModel` and returns a
:class:`~csreport.report.html.Fragment` or :class:`~csreport.report.charts.Chart`, like the
executive report's components, in the same house style and with the same escaping: names,
comments, ticket and invoice ids are untrusted text and go through Jinja's autoescaping.
"""
from __future__ import annotations

from itertools import zip_longest
from typing import Any

import pandas as pd
from matplotlib import rc_context
from matplotlib.ticker import FuncFormatter

from ..metrics.catalog import BY_KEY
from ..model.account import DISCUSS_LOOKBACK, AccountModel, Topic
from . import style
from .charts import STYLE, Chart, _figure
from .formatting import fmt, money, month_label
from .html import Fragment, env
from .narrative import unfinished_line
from .tables import table

COMPONENT_LABEL = {"usage": "Usage", "feedback": "Feedback", "support": "Support", "payment": "Payment"}
_TILES = env.get_template("fragments/account_tiles.html.j2")
_LIST = env.get_template("fragments/narrative.html.j2")
_HEALTH = env.get_template("fragments/account_health.html.j2")
_PROFILE = env.get_template("fragments/account_profile.html.j2")
_FACTS = env.get_template("fragments/account_facts.html.j2")


def _band(score: float | None, green: float, amber: float) -> str | None:
    """The health band a score falls in (components are coloured on the same scale as health)."""
    if score is None:
        return None
    rounded = round(score, 6)
    return "green" if rounded >= green else "amber" if rounded >= amber else "red"


def _bands(model: AccountModel) -> tuple[float, float]:
    bands = model.settings.health_bands
    return bands["green"], bands["amber"]


def profile(model: AccountModel) -> Fragment:
    """Who the customer is: segment, CSM, plan, region, customer since."""
    info = model.account
    facts = [("Segment", info.segment), ("CSM", info.csm), ("Plan", info.plan), ("Region", info.region),
             ("Customer since", month_label(model.customer_since) if model.customer_since else None),
             ("Account ID", info.account_id)]
    return Fragment(_PROFILE.render(facts=[(k, v) for k, v in facts if v]))


def _tile(label: str, value: str, band: str | None = None, change: str | None = None, tone: str = "flat",
          note: str | None = None) -> dict[str, Any]:
    return {"label": label, "value": value, "band": band, "change": change, "tone": tone, "note": note}


def _change(change: float | None, unit: str = "") -> tuple[str | None, str]:
    """'▲ +5 pts' and its tone (up is good for health and users)."""
    if change is None:
        return None, "flat"
    arrow = "▲" if change > 1e-9 else "▼" if change < -1e-9 else "▶"
    tone = "flat" if abs(change) < 1e-9 else "good" if change > 0 else "bad"
    return f"{arrow} {change:+.0f}{unit}", tone


def tiles(model: AccountModel) -> Fragment:
    """Health, MRR, active users, open tickets, overdue and NPS of the customer, with a quarter's change."""
    green, amber = _bands(model)
    now, then = model.now, model.health_then
    since = f"vs {month_label(then.month)}" if then is not None else None
    health_change, health_tone = _change(model.health_change, " pts")
    users_now, users_then = model.active_users[-1].value, model.users_then
    users_change, users_tone = _change(None if users_now is None or users_then is None or then is None
                                       else users_now - users_then)
    overdue = model.overdue_invoices
    items = [
        _tile("Health", "n/a" if now.health is None else f"{now.health:.0f}", _band(now.health, green, amber),
              health_change, health_tone, since if health_change else None),
        _tile("MRR", money(model.mrr_now)),
        _tile("Active users", "n/a" if users_now is None else f"{users_now:,.0f}", None, users_change, users_tone,
              since if users_change else None),
        _tile("Open tickets", fmt("backlog_end", model.value("backlog_end"))),
        _tile("Overdue", money(model.overdue_amount) if overdue else "none", "red" if overdue else None,
              note=f"{len(overdue)} invoice{'s' if len(overdue) != 1 else ''}" if overdue else None),
        _tile("NPS, 12 months", fmt("nps", model.survey_12m.get("nps")),
              note=f"{model.survey_12m.get('nps_responses') or 0} answers"),
    ]
    return Fragment(_TILES.render(tiles=items))


def status_line(model: AccountModel) -> Fragment:
    """One honest line each when the month is not over, the account is not a customer this month, or it has
    no activity at all."""
    month = model.month.label
    unfinished = unfinished_line(model)
    lines = [unfinished] if unfinished else []
    if not model.customer:
        last = next((m for m in reversed(model.mrr) if m.value), None)
        lines.append(f"{model.account.name} is not a customer in {month} (no MRR)"
                     + (f"; its last MRR was {money(last.value or 0.0)} in {month_label(last.month)}." if last
                        else "; it had no MRR in the 12 months shown."))
    quiet = (not model.active_days, not model.value("tickets_created"),
             not model.value("nps_responses") and not model.value("csat_responses"))
    if all(quiet):
        lines.append(f"No usage, tickets or survey answers in {month}.")
    return Fragment(_LIST.render(sentences=lines) if lines else "")


def topic_sentence(model: AccountModel, topic: Topic) -> str:
    """Why a component is on the agenda, with the numbers behind it."""
    label = COMPONENT_LABEL[topic.component]
    why = []
    if topic.weakest:
        why.append("weakest component")
    if topic.falling and topic.change is not None and topic.since is not None:
        why.append(f"down {abs(topic.change):.0f} points since {month_label(topic.since)}")
    head = f"{label} {topic.score:.0f}/100 ({', '.join(why)})"
    return f"{head}: {_evidence(model, topic.component)}"


def _evidence(model: AccountModel, component: str) -> str:
    month = month_label(model.period)
    if component == "usage":
        users = model.active_users[-1].value
        then = model.users_then
        text = f"active on {model.active_days or 0} of {model.month.days} days in {month}"
        if users is not None:
            text += f", {users:,.0f} active users"
            if then is not None and model.health_then is not None:
                text += f" ({then:,.0f} in {month_label(model.health_then.month)})"
        return text + "."
    if component == "feedback":
        latest = next((r for r in model.responses if r.survey == "nps"), None)
        if latest is None:
            return "no NPS answer in the last 12 months (scored as neutral)."
        said = f": “{latest.text}”" if latest.text else ""
        return f"latest NPS answer {latest.score} ({latest.category}) on {latest.responded_on}{said}."
    if component == "support":
        sla = model.value("sla_met_pct")
        created = model.value("tickets_created") or 0
        text = f"SLA met on {fmt('sla_met_pct', sla)} of the tickets counted in {month}" if sla is not None \
            else f"{created} tickets created in {month}"
        return text + f"; {model.value('backlog_end') or 0} open at month end."
    overdue = model.overdue_invoices
    if not overdue:
        return "invoices due in the last 90 days were paid late."
    oldest = max(i.days_overdue for i in overdue)
    return (f"{len(overdue)} invoice{'s' if len(overdue) != 1 else ''} overdue ({money(model.overdue_amount)}), "
            f"the oldest by {oldest} days.")


def discuss(model: AccountModel) -> Fragment:
    """What to discuss: the weakest and the fastest-falling health components, with their numbers."""
    if not model.customer:
        sentences = [f"Not a customer in {model.month.label}: nothing scored to discuss."]
    elif not model.discuss:
        sentences = [f"Every health component is green and none fell {DISCUSS_LOOKBACK} months running: "
                     "no weak spot to raise."]
    else:
        sentences = [topic_sentence(model, t) for t in model.discuss]
    return Fragment(_LIST.render(sentences=sentences))


def health_table(model: AccountModel) -> Fragment:
    """Health and its four components per month, coloured by band (blank where not a customer)."""
    green, amber = _bands(model)
    weights = model.settings.health_weights
    rows = [{"label": "Health", "strong": True,
             "cells": [_cell(m.health, green, amber) for m in model.health]}]
    for name, label in COMPONENT_LABEL.items():
        rows.append({"label": f"{label} ({weights.get(name, 0):.0%})", "strong": False,
                     "cells": [_cell(m.component(name), green, amber) for m in model.health]})
    months = [pd.Timestamp(f"{m}-01").strftime("%b") for m in model.months]
    return Fragment(_HEALTH.render(rows=rows, months=months, first=month_label(model.months[0]),
                                   last=month_label(model.months[-1])))


def _cell(value: float | None, green: float, amber: float) -> dict[str, Any]:
    return {"text": "" if value is None else f"{value:.0f}", "band": _band(value, green, amber)}


def _series(values: list[Any], months: list[str]) -> pd.Series:
    return pd.Series([float("nan") if v is None else v for v in values], index=months, dtype=float)


def health_chart(model: AccountModel) -> Chart:
    """Health over 12 months against the company's average health."""
    own = _series([m.health for m in model.health], model.months)
    company = _series([m.value for m in model.company_health], model.months)
    return _lines({"Health": own, "Company average": company}, "Health over 12 months", (0, 100))


def mrr_chart(model: AccountModel) -> Chart:
    return _bars(_series([m.value for m in model.mrr], model.months), "MRR", money)


def users_chart(model: AccountModel) -> Chart:
    return _bars(_series([m.value for m in model.active_users], model.months), "Active users a month",
                 lambda v: f"{v:,.0f}")


def _ticks(ax: Any, months: list[str]) -> None:
    ticks = list(range(0, len(months), 3))
    ax.set_xticks(ticks, [month_label(months[i]) for i in ticks])


def _lines(series: dict[str, pd.Series], title: str, limits: tuple[float, float]) -> Chart:
    with rc_context(STYLE):
        fig, ax = _figure(3.45, 2.1)
        months = list(next(iter(series.values())).index)
        for (name, values), color, dash in zip(series.items(), (style.ACCENT, style.MUTED), ("-", (0, (3, 2))),
                                               strict=False):
            ax.plot(range(len(values)), values.to_numpy(), color=color, linewidth=2 if dash == "-" else 1.2,
                    linestyle=dash, marker="o" if dash == "-" else None, markersize=2.5, label=name)
        ax.set_ylim(*limits)
        _ticks(ax, months)
        ax.set_title(title)
        ax.legend(loc="lower left", fontsize=7.5, ncols=len(series))
        return Chart.from_figure(fig)


def _bars(values: pd.Series, title: str, label: Any) -> Chart:
    with rc_context(STYLE):
        fig, ax = _figure(3.45, 2.1)
        shown = values.fillna(0.0)
        ax.bar(range(len(shown)), shown.to_numpy(), color=style.ACCENT, width=0.65)
        if len(values.dropna()):
            last = values.dropna()
            ax.annotate(label(last.iloc[-1]), (len(values) - 1, shown.iloc[-1]), xytext=(0, 3),
                        textcoords="offset points", ha="center", fontsize=8, color=style.INK, fontweight="bold")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: label(v)))
        ax.set_ylim(bottom=0)
        _ticks(ax, list(values.index))
        ax.set_title(title)
        return Chart.from_figure(fig)


def usage_charts(model: AccountModel) -> list[Chart]:
    """Active users over 12 months and, when the account used any, its top features this month."""
    charts = [users_chart(model)]
    if model.top_features:
        charts.append(features_chart(model))
    return charts


def features_chart(model: AccountModel) -> Chart:
    """The account's most used features this month (distinct users each)."""
    items = list(reversed(model.top_features))
    with rc_context(STYLE):
        fig, ax = _figure(3.45, 2.1)
        ax.barh(range(len(items)), [f.users for f in items], color=style.ACCENT, height=0.6)
        ax.set_yticks(range(len(items)), [f.event.replace("_", " ") for f in items])
        for y, f in enumerate(items):
            ax.text(f.users, y, f" {f.users:,}", va="center", fontsize=8, color=style.INK)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.set_xlabel("users this month")
        ax.set_title("Top features")
        return Chart.from_figure(fig)


def activity(model: AccountModel) -> Fragment:
    """The month's usage (sessions too when the model has them) and support numbers, side by side."""
    usage_keys = [k for k in ("mau", "dau_avg", "stickiness_pct", "sessions", "session_minutes_median",
                              "time_in_product_hours_per_user") if k in model.metrics]
    usage_rows = [(_label(k), _shown(k, model.value(k))) for k in usage_keys]
    if model.active_days is not None:
        usage_rows.append(("Days with usage", f"{model.active_days} of {model.month.days}"))
        if not model.top_features:
            usage_rows.append(("Features used", "none"))
    support_keys = ["tickets_created", "frt_median_hours", "resolution_median_hours", "sla_met_pct", "backlog_end"]
    support_rows = [(_label(k), _shown(k, model.value(k))) for k in support_keys]
    month = month_label(model.period)
    rows = list(zip_longest(usage_rows, support_rows))  # two blocks side by side in one table (prints reliably)
    return Fragment(_FACTS.render(titles=[f"Usage, {month}", f"Support, {month}"], rows=rows))


def open_tickets(model: AccountModel) -> Fragment:
    """The tickets still open at month end, oldest first."""
    if not model.open_tickets:
        return Fragment("")
    tickets = pd.DataFrame({"ticket": [t.ticket_id for t in model.open_tickets],
                            "opened": [t.created_on for t in model.open_tickets],
                            "age (days)": [t.age_days for t in model.open_tickets],
                            "priority": [t.priority or "–" for t in model.open_tickets]})
    return table(tickets.set_index("ticket"), title="Tickets open at month end", max_rows=6)


def voice(model: AccountModel) -> Fragment:
    """NPS and CSAT over 12 months and this month, and the answers with their comments (verbatims)."""
    s = model.survey_12m

    def said(key: str, n_key: str, scores: dict[str, Any]) -> str:
        n = scores.get(n_key) or 0
        return f"no {key.split('_')[0].upper()} answer" if not n else \
            f"{'NPS' if key == 'nps' else 'CSAT'} {fmt(key, scores.get(key))} ({n} answer{'s' if n != 1 else ''})"

    now = {k: model.value(k) for k in ("nps", "nps_responses", "csat_pct", "csat_responses")}
    lines = [f"Last 12 months: {said('nps', 'nps_responses', s)}, {said('csat_pct', 'csat_responses', s)}. "
             f"{model.month.label}: {said('nps', 'nps_responses', now)}, {said('csat_pct', 'csat_responses', now)}."]
    parts = [_LIST.render(sentences=lines)]
    if model.responses:
        # the verbatims first (newest first), then the answers without a comment
        answers = [r for r in model.responses if r.text] + [r for r in model.responses if not r.text]
        frame = pd.DataFrame({"date": [r.responded_on for r in answers],
                              "survey": [r.survey.upper() for r in answers],
                              "score": [r.score for r in answers],
                              "comment": [r.text or "" for r in answers]})
        parts.append(table(frame, title="Answers: comments first, newest first", max_rows=5).html)
    return Fragment("\n".join(parts))


def invoices(model: AccountModel) -> Fragment:
    """Invoices due and unpaid at the end of the period."""
    if not model.overdue_invoices:
        return Fragment(env.from_string('<p class="muted">No invoice overdue at the end of {{ m }}.</p>')
                        .render(m=model.month.label))
    frame = pd.DataFrame({"invoice": [i.invoice_id for i in model.overdue_invoices],
                          "due": [i.due_on for i in model.overdue_invoices],
                          "amount": [i.amount for i in model.overdue_invoices],
                          "days overdue": [i.days_overdue for i in model.overdue_invoices]})
    return table(frame.set_index("invoice"), title=f"Overdue at the end of {model.month.label}",
                 units={"amount": "currency"}, max_rows=10)


def _label(key: str) -> str:
    return BY_KEY[key].label if key in BY_KEY else key.replace("_", " ")


def _shown(key: str, value: Any) -> str:
    """A number of the compact usage and support table ('n/a' when there is none: no ticket, no session)."""
    return fmt(key, value) if key in BY_KEY else f"{value:,.2f}"
