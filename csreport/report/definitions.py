"""The definitions appendix: every metric the report shows, with its formula, unit, direction,
target and the settings it depends on.

Generated, so it cannot drift from the code:

* label, unit, direction and source table come from the metric catalog
  (:mod:`csreport.metrics.catalog`), metrics registered at run time included;
* the formula comes from the metric functions' docstrings: a line that starts with a metric
  key followed by ``=`` or ``:`` defines it (more-indented lines below continue it). A catalog
  entry may carry its own (``formula``, ``description``, or a documented ``function``);
* the settings (time zone, SLA hours, gross margin, health weights and bands, backtest months)
  come from the report model, i.e. from the config the numbers were computed with.

Which metrics are "shown" is recorded by the components as they render (:func:`note_shown`),
so the appendix lists exactly what the pack displays.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .. import metrics as metrics_package
from ..metrics.catalog import BY_KEY
from ..model import ReportModel
from .formatting import DIRECTION_SIGN, change_size, fmt

UNIT_WORDS = {"pct": "percent (0–100); changes in percentage points (pp)", "count": "count",
              "currency": "dollars per month (MRR)", "hours": "hours", "minutes": "minutes", "days": "days",
              "score": "score; changes in points", "points": "points (−100 to +100)", "ratio": "ratio"}
_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[a-z][a-z0-9_]*)\s*[=:]\s+(?P<text>\S.*)$")

_shown: dict[str, None] = {}  # insertion-ordered set of the keys shown so far in this report


def note_shown(keys: Any) -> None:
    """Record metrics a component displayed, for the appendix."""
    for key in keys:
        _shown.setdefault(key, None)


def shown_keys() -> list[str]:
    return list(_shown)


def reset_shown() -> None:
    """A new report starts (the kernel builds a new model): nothing shown yet."""
    _shown.clear()


@cache
def documented_formulas() -> dict[str, str]:
    """key -> formula, from the docstrings of every module and function in :mod:`csreport.metrics`."""
    found: dict[str, str] = {}
    for info in pkgutil.iter_modules(metrics_package.__path__):
        module = importlib.import_module(f"{metrics_package.__name__}.{info.name}")
        functions = [obj for _, obj in inspect.getmembers(module, inspect.isfunction)
                     if obj.__module__ == module.__name__]
        # a domain's "every metric" function states each key in full; then helpers; then the module overview
        functions.sort(key=lambda f: 0 if f.__name__.endswith(("_metrics", "_summary")) else 1)
        for doc in [*(inspect.getdoc(f) for f in functions), module.__doc__]:
            for key, text in _parse(doc or "").items():
                found.setdefault(key, text)
    return found


def _parse(doc: str) -> dict[str, str]:
    out: dict[str, str] = {}
    current: tuple[str, int] | None = None
    for line in doc.splitlines():
        match = _KEY_LINE.match(line)
        if match and match["key"] in BY_KEY:
            current = (match["key"], len(match["indent"]))
            out.setdefault(match["key"], match["text"].strip())
        elif current and line.strip() and len(line) - len(line.lstrip()) > current[1] and not match:
            out[current[0]] = f"{out[current[0]]} {line.strip()}"  # a continuation line
        else:
            current = None
    return out


def formula_of(key: str) -> str | None:
    """The formula of a metric: the catalog entry's own, else its documented line."""
    info = BY_KEY.get(key)
    for attribute in ("formula", "description"):
        text = getattr(info, attribute, None)
        if isinstance(text, str) and text.strip():
            return text.strip()
    function = getattr(info, "function", None)
    if function is not None and inspect.getdoc(function):
        return (inspect.getdoc(function) or "").split("\n\n")[0].replace("\n", " ")
    return documented_formulas().get(key)


@dataclass(frozen=True)
class Definition:
    key: str
    label: str
    formula: str
    unit: str
    better: str
    table: str
    target: str
    settings: str


def _settings_of(key: str, formula: str, model: ReportModel) -> str:
    """The configured values this metric depends on, in words."""
    s = model.settings
    used = []
    if "sla_hours" in formula:
        used.append(f"SLA {s.sla_hours:g} h")
    if "gross_margin" in formula:
        used.append(f"gross margin {100 * s.gross_margin:g}%")
    if key.startswith("health_"):
        used.append("weights " + ", ".join(f"{c} {100 * w:g}%" for c, w in s.health_weights.items()))
        used.append(f"bands green ≥ {s.health_bands['green']:g}, amber ≥ {s.health_bands['amber']:g}, "
                    f"red below {s.health_bands['amber']:g}")
    if key.startswith("health_backtest"):
        used.append(f"h = {s.health_backtest_months} months")
    return "; ".join(used)


def _target_of(model: ReportModel, key: str) -> str:
    target = model.targets.get(key)
    overrides = {name: scope.targets[key] for name, scope in model.segments.items()
                 if key in scope.targets and target is not None and scope.targets[key] != target}
    if target is None:
        return "none"
    tolerance = change_size(key, target.target + target.amber, target.target)
    text = f"{DIRECTION_SIGN[target.direction]} {fmt(key, target.target)} (amber within {tolerance})"
    for name, t in overrides.items():
        text += f"; {name} {DIRECTION_SIGN[t.direction]} {fmt(key, t.target)}"
    return text


def definitions(model: ReportModel, keys: list[str]) -> list[Definition]:
    """One definition per key (catalog order kept as given), for the appendix."""
    out = []
    order = {key: i for i, key in enumerate(BY_KEY)}  # the catalog's order, registered metrics last
    for key in sorted(dict.fromkeys(keys), key=lambda k: order.get(k, len(order))):
        info = BY_KEY.get(key)
        if info is None:
            continue
        formula = formula_of(key) or "not documented"
        better = {True: "higher", False: "lower", None: "neither (a volume)"}[info.higher_is_better]
        out.append(Definition(key=key, label=info.label, formula=formula, unit=UNIT_WORDS.get(info.unit, info.unit),
                              better=better, table=info.table or "the company's own data (metrics_module)",
                              target=_target_of(model, key),
                              settings=_settings_of(key, formula, model)))
    return out
