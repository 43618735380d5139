"""Company-specific metrics: Python functions a company declares in its own file.

The config names the file (``metrics_module: my_metrics.py``, relative to the config file);
each metric is a function decorated with :func:`metric`::

    import csreport

    @csreport.metric(key="tickets_per_customer", label="Support tickets per customer", unit="ratio",
                     direction="lower", formula="tickets created in the month / customers with MRR > 0")
    def tickets_per_customer(tables, period):
        ...
        return 1.25  # a number, or None when it cannot be computed for this period

``tables`` maps each table of the data source (SPEC §1: accounts, revenue, surveys, tickets,
referrals, invoices; a table the source lacks is absent) to a pandas DataFrame of validated,
typed rows. ``events`` is not among them: it stays in the engine. For a segment the function
receives that segment's rows. ``period`` is a :class:`MetricPeriod`.

Loading the file validates it (:class:`~csreport.errors.ConfigError`, exit 2); a function that
raises, or returns something that is not a number, stops the run with
:class:`~csreport.errors.MetricError` (exit 8) naming the metric and the function. After
loading, a company metric is computed with every built-in (:mod:`csreport.metrics.compute`)
and registered in the catalog, so it gets targets, status, history and comparisons like them.
"""
from __future__ import annotations

import importlib.util
import inspect
import math
import re
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from ..data.schema import FRAME_TABLES, TABLE_NAMES
from ..errors import ConfigError, MetricError
from .base import MetricSet
from .catalog import BUILT_IN, CUSTOM_DOMAIN, UNITS, MetricInfo

if TYPE_CHECKING:
    from ..data.load import Dataset
    from ..periods import Period

# the tables a company metric receives, in SPEC §1 order: those read into pandas (events stay in the
# engine: they may be 10^8 rows)
TABLES = tuple(name for name in TABLE_NAMES if name in FRAME_TABLES)
DIRECTIONS = ("higher", "lower")
# a key is a metrics.json key, a history row and a targets entry: plain snake_case
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_LABEL = 80

Tables = Mapping[str, pd.DataFrame]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class MetricPeriod:
    """The ``period`` a company metric function receives.

    ``start`` and ``end`` are tz-aware instants in the config's time zone: the first instant of
    the month (inclusive) and of the next month (exclusive), to compare with timestamp columns
    (``created_at``, ``responded_at``, ...). ``start_date`` and ``end_date`` are the same bounds
    as naive dates, for date columns (``due_date``, ``signup_date``); ``month`` ('YYYY-MM') matches
    ``revenue.month``.
    """

    month: str
    start: pd.Timestamp
    end: pd.Timestamp
    start_date: pd.Timestamp
    end_date: pd.Timestamp

    @classmethod
    def of(cls, period: Period, timezone: str) -> MetricPeriod:
        return cls(str(period), period.start(timezone), period.end(timezone), period.start_date, period.end_date)


@dataclass(frozen=True)
class CustomMetric:
    """One declared company metric: its catalog entry and the function that computes it."""

    info: MetricInfo
    function: Callable[[Tables, MetricPeriod], Any]

    @property
    def key(self) -> str:
        return self.info.key

    @property
    def name(self) -> str:
        """'tickets_per_customer()'."""
        return f"{getattr(self.function, '__qualname__', repr(self.function))}()"

    @property
    def file(self) -> Path | None:
        code = getattr(self.function, "__code__", None)
        return None if code is None else Path(code.co_filename)

    @property
    def where(self) -> str:
        """'tickets_per_customer() in my_metrics.py, line 12' (the @csreport.metric line): how errors name it."""
        code = getattr(self.function, "__code__", None)
        if code is None:
            return self.name
        return f"{self.name} in {Path(code.co_filename).name}, line {code.co_firstlineno}"


# the metrics declared while a metrics module is being imported (see load_metrics_module)
_declared: list[CustomMetric] | None = None


def metric(*, key: str | None = None, label: str | None = None, unit: str | None = None,
           direction: str | None = None, formula: str | None = None) -> Callable[[F], F]:
    """Declare ``f(tables, period) -> float | None`` as a company metric (see the module docstring).

    ``unit`` is one of ``pct`` (0–100), ``count``, ``currency``, ``hours``, ``days``, ``score``,
    ``points``, ``ratio``; ``direction`` says which way is better: ``"higher"`` or ``"lower"``.
    The function is returned unchanged, so it can still be called (and tested) directly.
    """
    def declare(function: F) -> F:
        info = _checked_info(function, key, label, unit, direction, formula)
        declared = CustomMetric(info, function)
        if _declared is not None:
            _declared.append(declared)
        return function

    return declare


def _checked_info(function: Any, key: Any, label: Any, unit: Any, direction: Any, formula: Any) -> MetricInfo:
    """The catalog entry of a declaration, or a ConfigError that says which argument is wrong and how."""
    name = getattr(function, "__qualname__", repr(function))
    where = f"@csreport.metric on {name}()"
    if not callable(function):
        raise ConfigError(f"{where}: decorates something that is not a function")
    if not isinstance(key, str) or not _KEY.match(key):
        raise ConfigError(f"{where}: key={key!r} must be lower-case letters, digits and underscores, starting "
                          "with a letter (e.g. 'tickets_per_customer')")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        raise ConfigError(f"{where}: label={label!r} must be a non-empty text of at most {MAX_LABEL} characters")
    if unit not in UNITS:
        raise ConfigError(f"{where}: unit={unit!r} must be one of {', '.join(UNITS)}")
    if direction not in DIRECTIONS:
        raise ConfigError(f"{where}: direction={direction!r} must be 'higher' or 'lower' (which way is better)")
    if not isinstance(formula, str) or not formula.strip():
        raise ConfigError(f"{where}: formula= must say in words how the metric is computed (it is shown in the "
                          "report's definitions)")
    try:
        inspect.signature(function).bind(None, None)
    except TypeError:
        raise ConfigError(f"{where}: the function must take two arguments, (tables, period)") from None
    except ValueError:  # no signature to inspect (a builtin): it will be called and checked then
        pass
    return MetricInfo(key, label.strip(), unit, direction == "higher", CUSTOM_DOMAIN, "", formula.strip())


def load_metrics_module(path: Path) -> tuple[CustomMetric, ...]:
    """Import a company's metrics file and return the metrics it declares (ConfigError when it cannot)."""
    global _declared
    if not path.is_file():
        raise ConfigError(f"metrics_module {path} does not exist (a relative path is read from the config "
                          "file's folder)")
    name = f"csreport_company_metrics_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"metrics_module {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    _declared = []
    sys.modules[name] = module  # dataclasses and pickling inside the module look themselves up here
    try:
        spec.loader.exec_module(module)
        found = list(_declared)
    except ConfigError as exc:
        raise ConfigError(f"metrics_module {path}: {exc}") from None
    except (Exception, SystemExit) as exc:  # SyntaxError, ImportError, anything at import time
        raise ConfigError(f"metrics_module {path} could not be imported: {_describe(exc, path)}") from None
    finally:
        _declared = None
    return _validated(found, path)


def _validated(found: list[CustomMetric], path: Path) -> tuple[CustomMetric, ...]:
    """Refuse an empty module, a key declared twice, and a key that a built-in metric already has."""
    if not found:
        raise ConfigError(f"metrics_module {path} declares no metric; decorate each function with "
                          "@csreport.metric(key=..., label=..., unit=..., direction=..., formula=...)")
    seen: dict[str, CustomMetric] = {}
    for declared in found:
        if declared.key in BUILT_IN:
            raise ConfigError(f"metrics_module {path}: key {declared.key!r} of {declared.where} is a built-in "
                              "metric (SPEC §3); choose another key")
        if declared.key in seen:
            raise ConfigError(f"metrics_module {path}: key {declared.key!r} is declared twice, by "
                              f"{seen[declared.key].where} and {declared.where}")
        seen[declared.key] = declared
    return tuple(found)


def _describe(exc: BaseException, path: Path | None) -> str:
    """'ZeroDivisionError: division by zero (my_metrics.py, line 7)': the exception and its line in the file."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, SyntaxError) and exc.lineno:
        return f"{type(exc).__name__}: {exc.msg} (line {exc.lineno})"
    if path is None:
        return text
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
             if Path(frame.filename).resolve() == path.resolve()]
    return text + (f" ({path.name}, line {lines[-1]})" if lines else "")


def compute_custom(metrics: tuple[CustomMetric, ...], dataset: Dataset, period: Period, timezone: str,
                   scope_label: str) -> MetricSet:
    """The company metrics of ``period`` for ``dataset``, whose accounts ``scope_label`` names in error messages
    ("all customers", "segment 'SMB'", "the book of csm 'Kenji Sato'")."""
    result = MetricSet()
    if not metrics:
        return result
    frames = {name: frame for name in TABLES if (frame := getattr(dataset, name)) is not None}
    bounds = MetricPeriod.of(period, timezone)
    for declared in metrics:
        # a copy per function: one metric that changes its frames in place cannot change another's numbers
        tables = MappingProxyType({name: frame.copy() for name, frame in frames.items()})
        scope = f"{period}, {scope_label}"
        try:
            value = declared.function(tables, bounds)
        except Exception as exc:
            raise MetricError(f"company metric {declared.key!r} failed in {declared.where} for {scope}: "
                              f"{_describe(exc, declared.file)}") from exc
        number, reason = _number(declared, value, scope)
        result.put(declared.key, number, reason)
    return result


def _number(declared: CustomMetric, value: Any, scope: str) -> tuple[float | None, str]:
    """A returned value as a float (or None with the reason); anything else is the function's error."""
    if value is None:
        return None, f"not computable: {declared.name} returned None for this period"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise MetricError(f"company metric {declared.key!r}: {declared.where} returned {type(value).__name__} "
                          f"{_short(value)} for {scope}; return a number, or None when it cannot be computed")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float (10**400)
        raise MetricError(f"company metric {declared.key!r}: {declared.where} returned an integer of {len(str(value))} "
                          f"digits for {scope}, beyond any number a report can show; check its arithmetic") from None
    if math.isnan(number):  # pandas' answer for "no rows" (mean of nothing): null, with the reason
        return None, f"not computable: {declared.name} returned NaN (no data) for this period"
    if math.isinf(number):
        raise MetricError(f"company metric {declared.key!r}: {declared.where} returned {number} for {scope}; "
                          "a value that cannot be computed (zero denominator) must be None")
    return number, ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
