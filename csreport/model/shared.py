"""One engine pass for many groups: the events table seen through aggregates fetched once.

``csreport batch`` computes a report per CSM, segment or account from one load of the data.
:class:`SharedEvents` stands in for the dataset's event store: it asks the engine once for the
aggregates of a run of months and answers every later ``aggregates(first, last)`` (from the
:class:`~csreport.model.Calculator`, :func:`~csreport.metrics.compute.compute_metrics`, a
book's or an account's model) by slicing them, restricted to the group's accounts. So a book's
dataset (:func:`restrict`) never sees another book's events, and no group queries the engine.
"""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import pandas as pd

from ..data import Dataset
from ..data.events import EngagementAggregates
from ..periods import Period


def _months(aggregates: EngagementAggregates, first: Period, last: Period) -> EngagementAggregates:
    """The rows of months first..last (every frame has a 'month' column 'YYYY-MM')."""
    return replace(aggregates, **{f.name: _between(getattr(aggregates, f.name), first, last)
                                  for f in fields(aggregates)})


def _between(frame: pd.DataFrame, first: Period, last: Period) -> pd.DataFrame:
    keep = (frame["month"] >= str(first)) & (frame["month"] <= str(last))
    return frame if bool(keep.all()) else frame[keep].reset_index(drop=True)


class SharedEvents:
    """Aggregates of months ``first``..``last`` from ONE engine pass, for any subset of accounts.

    ``passes`` counts the engine queries: 1, unless a caller asks for months outside the run
    (then the engine is asked for those, restricted likewise, and the count says so).
    """

    def __init__(self, store: Any, first: Period, last: Period,
                 aggregates: EngagementAggregates | None = None, accounts: set[str] | None = None,
                 counter: list[int] | None = None):
        self.store = store  # the real event store (DuckDB, or another engine)
        self.first, self.last = first, last
        self.accounts = accounts
        self._passes = counter if counter is not None else [0]
        if aggregates is None:
            # the reported month is the last: the earlier ones may be read back (csreport.data.events.MonthMemory)
            aggregates = store.aggregates(first, last, reusable=set(first.range_to(last.previous)))
            self._passes[0] += 1
        self._aggregates = aggregates

    @property
    def passes(self) -> int:
        return self._passes[0]

    def aggregates(self, first: Period, last: Period, **options: Any) -> EngagementAggregates:
        if self.first <= first and last <= self.last:
            return _months(self._aggregates, first, last)
        fetched = self.store.aggregates(first, last, **options)  # outside the shared run: say so in passes
        self._passes[0] += 1
        return fetched if self.accounts is None else fetched.subset(self.accounts)

    def restricted(self, account_ids: set[str]) -> SharedEvents:
        """The same shared aggregates, for some accounts only (a book, one account)."""
        return SharedEvents(self.store, self.first, self.last, self._aggregates.subset(account_ids),
                            account_ids if self.accounts is None else self.accounts & account_ids, self._passes)

    def __getattr__(self, name: str) -> Any:  # rows, rejected, problems, ...: the real store's
        return getattr(self.store, name)


def share_events(dataset: Dataset, first: Period, last: Period) -> Dataset:
    """The dataset with its events aggregated once for months first..last (unchanged without events)."""
    if dataset.events is None or isinstance(dataset.events, SharedEvents):
        return dataset
    shared: Any = SharedEvents(dataset.events, first, last)  # stands in for the EventStore (same aggregates())
    return replace(dataset, events=shared)


def restrict(dataset: Dataset, account_ids: set[str]) -> Dataset:
    """The dataset of some accounts only, events included (``Dataset.subset`` leaves events whole)."""
    subset = dataset.subset(account_ids)
    events = dataset.events
    if isinstance(events, SharedEvents):
        restricted: Any = events.restricted(account_ids)
        return replace(subset, events=restricted)
    if events is not None:
        raise TypeError("restrict() needs the dataset's events shared first (share_events)")
    return subset
