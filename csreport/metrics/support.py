"""Support metrics (SPEC §3, from ``tickets``): volume, response and resolution times, SLA, backlog.

As-of rule: a first response or resolution at or after end(P) has not happened
yet for P. Times are tz-aware; durations are float hours.
"""
from __future__ import annotations

import pandas as pd

from ..memo import remembered
from .base import MetricSet, hours, median, pct
from .catalog import not_available


def created_in(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Tickets created in [start, end) (remembered per frame and window: several metrics and health read them)."""
    return remembered(tickets, ("created_in", start, end),
                      lambda: tickets[(tickets["created_at"] >= start) & (tickets["created_at"] < end)])


def created_outcome(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, sla_hours: float) -> pd.Series:
    """:func:`sla_outcome` of the tickets created in [start, end), as seen at end (remembered likewise:
    sla_met_pct and the health support component both read it)."""
    return remembered(tickets, ("created_outcome", start, end, sla_hours),
                      lambda: sla_outcome(created_in(tickets, start, end), end, sla_hours))


def frt_median_hours(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float | None:
    """Median of first_response_at − created_at (hours) over tickets created in P answered before end(P)."""
    if "first_response_at" not in tickets:
        return None
    created = created_in(tickets, start, end)
    first_response = created["first_response_at"]
    answered = first_response.notna() & (first_response < end)  # the two columns read, not every column
    return median(hours(first_response[answered] - created["created_at"][answered]))


def resolution_median_hours(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float | None:
    """Median of resolved_at − created_at (hours) over tickets resolved in P (whenever created)."""
    if "resolved_at" not in tickets:
        return None
    resolved_at = tickets["resolved_at"]
    in_period = (resolved_at >= start) & (resolved_at < end)  # filter the two columns read, not every column
    return median(hours(resolved_at[in_period] - tickets["created_at"][in_period]))


def sla_outcome(tickets: pd.DataFrame, end: pd.Timestamp, sla_hours: float) -> pd.Series:
    """Per ticket: True = SLA met, False = missed, NA = not counted (yet), as seen at end(P).

    Resolved before end(P): met iff resolved_at − created_at <= sla_hours.
    Unresolved at end(P): missed iff end(P) − created_at > sla_hours, else not counted.
    """
    created_at = tickets["created_at"]
    resolved_at = tickets["resolved_at"] if "resolved_at" in tickets else pd.Series(pd.NaT, index=tickets.index)
    resolved = (resolved_at.notna() & (resolved_at < end)).to_numpy(dtype=bool)
    # on every ticket at once, then one nullable array (masked assignments into a nullable Series cost
    # more than the rule); an unresolved ticket's "met" is never read
    met = (hours(resolved_at - created_at) <= sla_hours).to_numpy(dtype=bool)
    overdue = ~resolved & (hours(end - created_at) > sla_hours).to_numpy(dtype=bool)
    counted = resolved | overdue
    return pd.Series(pd.arrays.BooleanArray(resolved & met, ~counted), index=tickets.index)


def sla_met_pct(tickets: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, sla_hours: float) -> float | None:
    """100 · met / (met + missed) over tickets created in P (percent)."""
    outcome = created_outcome(tickets, start, end, sla_hours).dropna()
    return pct(outcome.sum(), len(outcome))


def backlog_end(tickets: pd.DataFrame, end: pd.Timestamp) -> int:
    """Tickets created before end(P) and not resolved before end(P)."""
    open_at_end = tickets["created_at"] < end
    if "resolved_at" in tickets:
        open_at_end &= ~(tickets["resolved_at"].notna() & (tickets["resolved_at"] < end))
    return int(open_at_end.sum())


def support_metrics(tickets: pd.DataFrame | None, start: pd.Timestamp, end: pd.Timestamp,
                    sla_hours: float) -> MetricSet:
    """Every support metric of SPEC §3 for the period [start, end); None: the source has no tickets table.

    tickets_created         = # tickets created in P
    frt_median_hours        = median hours from created_at to first_response_at, over tickets created in P
                              and answered before the end of P
    resolution_median_hours = median hours from created_at to resolved_at, over tickets resolved in P
    sla_met_pct             = 100 · met / (met + missed), over tickets created in P: one resolved before the end
                              of P is met iff resolved within sla_hours; one still open is missed once older
                              than sla_hours, else not counted
    backlog_end             = # tickets created before the end of P and not resolved before it
    """
    if tickets is None:
        return MetricSet.table_missing("tickets")
    out = MetricSet()
    out.put("tickets_created", len(created_in(tickets, start, end)))
    out.put("frt_median_hours", frt_median_hours(tickets, start, end),
            "no ticket created in the period had a first response before its end"
            if "first_response_at" in tickets else not_available("tickets", "first_response_at"))
    out.put("resolution_median_hours", resolution_median_hours(tickets, start, end),
            "no ticket was resolved in the period" if "resolved_at" in tickets
            else not_available("tickets", "resolved_at"))
    out.put("sla_met_pct", sla_met_pct(tickets, start, end, sla_hours),
            "no ticket created in the period was resolved or past its SLA by the period's end")
    out.put("backlog_end", backlog_end(tickets, end))
    return out
