"""Books of business: the report model of one CSM's or one segment's accounts, the company beside it.

A book's model is built exactly like the company's (:func:`~csreport.model.build_model`) on the
dataset restricted to the book (:func:`~csreport.model.shared.restrict`), with no history: the
history store holds company and segment rows only, so a book's earlier months are recomputed
from the data (``previous_from`` says "data"). ``book.company`` holds the company's values,
status and targets of the same period, from the calculator every book shares.
"""
from __future__ import annotations

from typing import Literal

import pandas as pd

from ..benchmark.targets import Targets
from ..config import Config
from ..data import Dataset
from ..errors import ConfigError
from ..periods import Period
from .build import Calculator, ModelOptions, _scope, build_model
from .shared import restrict, share_events
from .types import Book, ReportModel, Scope

BookBy = Literal["csm", "segment"]


def first_month(period: Period, config: Config, months_back: int) -> Period:
    """The first month whose events a model of ``period`` reads: ``months_back`` earlier, less the
    health backtest's look-back (a month's health backtest scores the customers h months before)."""
    return period.shift(-months_back - config.health.backtest_months)


def book_accounts(accounts: pd.DataFrame, by: BookBy, name: str) -> set[str]:
    """The accounts of a CSM or segment (exact match on the accounts table's column)."""
    if by not in accounts:
        raise ConfigError(f"the accounts table has no {by!r} column: add it, or map yours under "
                          f"'columns: {{accounts: {{{by}: <your column>}}}}' in the config")
    return set(accounts.loc[accounts[by] == name, "account_id"].astype(str))


class BookBuilder:
    """Builds book models for ``period``; everything books share is computed once."""

    def __init__(self, dataset: Dataset, period: Period, config: Config, targets: Targets, options: ModelOptions):
        # one engine pass: P, P-1 and P-12, each with its health backtest month
        self.data = share_events(dataset, first_month(period, config, 12), period)
        self.period, self.config, self.targets = period, config, targets
        self.options = options
        self.company = Calculator(self.data, config, [period])
        self._company_scope: Scope | None = None

    def company_scope(self) -> Scope:
        if self._company_scope is None:
            self._company_scope = _scope(self.company.company(self.period), self.targets, None, {})
        return self._company_scope

    def build(self, by: BookBy, name: str, account_ids: set[str] | None = None) -> ReportModel:
        ids = account_ids if account_ids is not None else book_accounts(self.data.accounts, by, name)
        data = restrict(self.data, ids)
        periods = [self.period, self.period.previous, self.period.shift(-12)]
        calculator = Calculator(data, self.config, periods, scope_label=f"the book of {by} {name!r}")
        model = build_model(data, self.period, self.config, self.targets, None, calculator, self.options)
        return model.model_copy(update={"book": Book(by=by, name=name, accounts=len(ids),
                                                     company=self.company_scope())})
