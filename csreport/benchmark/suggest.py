"""Targets from history (`csreport targets suggest`): a baseline, and a stated step better than it.

For every metric with a direction (higher or lower is better) that the history store
holds company-wide (segment ''), over the last N recorded months (default 6):

  baseline = median of the metric's values in those months (months where it is null are skipped)
  target   = a step better than the baseline, in the metric's direction:
             - with a benchmark B (the target of csreport's default targets file, with its source)
               that the baseline misses: baseline + (B − baseline) / 4, a quarter of the gap;
               where the baseline already meets or beats B: the baseline (hold it);
             - without a benchmark, a percentage (0–100): a tenth of the gap to the end of the
               scale (100 when higher is better, 0 when lower is), holding a baseline already there;
             - without a benchmark, any other unit: 5 % of |baseline| better.
  amber    = |target − baseline| + MAD, MAD = median |value − baseline| over those months:
             holding the baseline, give or take its usual month-to-month spread, is amber; worse is red.

The output is a targets YAML (:mod:`csreport.benchmark.targets`) with a comment per
metric saying how both figures were derived.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from .. import __version__
from ..errors import ConfigError, HistoryError
from ..metrics.catalog import BY_KEY, OBJECT_KEYS
from .history import ALL
from .targets import Target, Targets, load_targets

DEFAULT_MONTHS = 6
BENCHMARK_STEP = 0.25  # share of the gap to the benchmark closed by one target
SCALE_STEP = 0.10  # share of the gap to 100 % (or 0 %) closed where there is no benchmark
RELATIVE_STEP = 0.05  # relative step where there is neither a benchmark nor a bounded scale
DECIMALS = 4


@dataclass(frozen=True)
class Suggestion:
    """One metric's suggested target and how it was derived."""

    key: str
    values: pd.Series  # the metric's values in the baseline months (index 'YYYY-MM')
    baseline: float
    target: float
    spread: float  # median |value − baseline| over the baseline months
    rule: str  # how the target follows from the baseline, in words and figures
    benchmark: Target | None

    @property
    def amber(self) -> float:
        """|target − baseline| + spread (the metric's unit)."""
        return abs(self.target - self.baseline) + self.spread


def read_history(path: str | Path) -> pd.DataFrame:
    """The company-wide rows (period, metric, value) of a history store, read without writing to it."""
    path = Path(path)
    if not path.is_file():
        raise HistoryError(f"history store {path} does not exist; record months into it first with "
                           f"'csreport backfill --data SRC --from YYYY-MM --to YYYY-MM --history {path}'")
    try:
        # read-only: a suggestion must never create or change a store
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as con:
            rows = con.execute("SELECT period, metric, value FROM metric_history WHERE segment = ?",
                               (ALL,)).fetchall()
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot read the history store {path}: {exc}; is it a csreport history file "
                           "(written by 'csreport run' or 'csreport backfill')?") from exc
    return pd.DataFrame(rows, columns=["period", "metric", "value"])


def last_months(rows: pd.DataFrame, months: int) -> list[str]:
    """The last ``months`` recorded periods 'YYYY-MM', oldest first; an error if the store holds fewer."""
    if months < 1:
        raise ConfigError(f"--months must be at least 1, got {months}")
    recorded = sorted(rows["period"].unique())
    if len(recorded) < months:
        held = f" ({recorded[0]} … {recorded[-1]})" if recorded else ""
        raise HistoryError(f"the history store holds {len(recorded)} month(s) of company-wide metrics{held}, "
                           f"fewer than the {months} asked for: record more months with 'csreport backfill', "
                           f"or pass a smaller --months")
    return recorded[-months:]


def baseline_of(values: pd.Series) -> float:
    """Median of the values (mean of the two middle ones for an even count), in the metric's unit."""
    return float(values.median())


def step_better(baseline: float, higher_is_better: bool, unit: str, benchmark: float | None) -> tuple[float, str]:
    """(target, rule): a step better than ``baseline`` in the metric's direction (module docstring)."""
    sign = 1.0 if higher_is_better else -1.0
    if benchmark is not None:
        gap = benchmark - baseline
        if sign * gap <= 0:
            return baseline, f"the baseline already meets the benchmark {benchmark:g}: hold it"
        return baseline + BENCHMARK_STEP * gap, f"a quarter of the gap to the benchmark {benchmark:g}"
    if unit == "pct":
        end = 100.0 if higher_is_better else 0.0
        gap = end - baseline
        if sign * gap <= 0:
            return baseline, f"the baseline is at the end of the scale ({end:g} %): hold it"
        return baseline + SCALE_STEP * gap, f"no benchmark: a tenth of the gap to {end:g} %"
    return baseline + sign * RELATIVE_STEP * abs(baseline), "no benchmark: 5 % better than the baseline"


def spread_of(values: pd.Series, baseline: float) -> float:
    """Median absolute deviation from the baseline, median |value − baseline| (the metric's unit)."""
    return float((values - baseline).abs().median())


def suggest(rows: pd.DataFrame, months: list[str], benchmarks: Targets) -> tuple[list[Suggestion], list[str]]:
    """(suggestions in catalog order, keys with a direction but no value in ``months``)."""
    window = rows[rows["period"].isin(months) & rows["value"].notna()]
    by_metric = {key: group.set_index("period")["value"].sort_index() for key, group in window.groupby("metric")}
    recorded = set(rows["metric"])
    out, empty = [], []
    for key, info in BY_KEY.items():
        # volumes have no "better", and a status needs a number, not a per-feature or per-cohort object
        if info.higher_is_better is None or key in OBJECT_KEYS or key not in recorded:
            continue
        values = by_metric.get(key)
        if values is None:
            empty.append(key)
            continue
        baseline = baseline_of(values)
        benchmark = benchmarks.metrics.get(key)
        target, rule = step_better(baseline, info.higher_is_better, info.unit,
                                   None if benchmark is None else benchmark.target)
        out.append(Suggestion(key, values, baseline, target, spread_of(values, baseline), rule, benchmark))
    return out, empty


def _num(value: float) -> float:
    return round(float(value), DECIMALS)


def _fmt(value: float) -> str:
    return f"{_num(value):.12g}"


def render(suggestions: list[Suggestion], empty: list[str], months: list[str], history_path: str) -> str:
    """The targets YAML, with a comment per metric on how its target and amber were derived."""
    lines = [
        f"# Targets suggested by csreport {__version__} from the history store {history_path},",
        f"# company-wide, from the last {len(months)} recorded month(s): {months[0]} … {months[-1]}.",
        "# baseline = median of those months; target = a step better than the baseline: a quarter of",
        "# the gap to the industry benchmark of csreport's default targets where the baseline misses it,",
        "# the baseline itself where it already meets it; without a benchmark, a tenth of the gap to",
        "# 100 % (or 0 %) for percentages, else 5 % better. amber = |target − baseline| + the median",
        "# absolute deviation of those months from the baseline. Review, then pass this file to --targets.",
        "metrics:",
    ]
    for s in suggestions:
        shown = ", ".join(f"{month} {_fmt(value)}" for month, value in s.values.items())
        lines.append(f"  # {s.key}: baseline {_fmt(s.baseline)} = median of {len(s.values)} month(s) ({shown}); "
                     f"target {_fmt(s.target)}: {s.rule}; amber {_fmt(s.amber)} = "
                     f"{_fmt(abs(s.target - s.baseline))} (target − baseline) + {_fmt(s.spread)} "
                     f"(median absolute deviation)")
        if s.benchmark is not None and s.benchmark.source:
            lines.append(f"  #   benchmark source: {s.benchmark.source}")
        source = f"csreport targets suggest: baseline {_fmt(s.baseline)} (median {months[0]} … {months[-1]}); {s.rule}"
        entry = {"target": _num(s.target), "amber": _num(s.amber), "source": source}
        flow = yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6)
        lines.append(f"  {s.key}: {flow.strip()}")
    if not suggestions:
        lines[-1] = "metrics: {}"
    if empty:
        lines.append(f"# no value in those months, so no suggestion: {', '.join(empty)}")
    return "\n".join(lines) + "\n"


def suggest_targets(history_path: str | Path, months: int = DEFAULT_MONTHS) -> str:
    """The suggested targets YAML for a history store; checked to load as a targets file."""
    history = read_history(history_path)
    window = last_months(history, months)
    # the shipped defaults are the benchmarks: each names its public source
    suggestions, empty = suggest(history, window, load_targets(None))
    text = render(suggestions, empty, window, str(history_path))
    Targets(**(yaml.safe_load(text) or {}))  # what we write must load with --targets; a failure here is a bug
    return text
