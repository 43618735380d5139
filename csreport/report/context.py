"""Everything one report shows, computed once: the notebook's single entry point.

``build_report`` loads and validates the data, computes the period's metrics, last
month's (for deltas), trends over up to 13 months, RAG status against targets,
and writes ``metrics.json`` and ``health.csv`` into the output folder.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .. import __version__
from ..benchmark.evaluate import Evaluation, evaluate
from ..benchmark.history import ALL, History
from ..benchmark.targets import Targets, targets_for
from ..config import Config, load_config
from ..data import Dataset, load_dataset
from ..metrics import PeriodMetrics, compute_metrics
from ..metrics.revenue import mrr_matrix, revenue_metrics
from ..metrics.surveys import survey_metrics
from ..periods import Period

TREND_MONTHS = 13


@dataclass
class ReportContext:
    period: Period
    config: Config
    data: Dataset
    current: PeriodMetrics
    previous: PeriodMetrics
    evaluation: Evaluation
    trends: pd.DataFrame  # index 'YYYY-MM', one column per metric key
    targets: Targets
    provenance: dict = field(default_factory=dict)

    @property
    def values(self) -> dict:
        return self.current.values

    def target(self, key: str) -> float | None:
        """The company-wide target of a metric, for reference lines; None without one."""
        found = self.targets.lookup(key)
        return None if found is None else found.target


def _trends(data: Dataset, config: Config, period: Period) -> pd.DataFrame:
    """Revenue and survey metrics for up to 13 months ending with ``period`` (cheap: no events)."""
    first_month = data.revenue["month"].min()
    matrix = mrr_matrix(data.revenue)
    rows = {}
    for p in period.shift(-(TREND_MONTHS - 1)).range_to(period):
        if str(p) < first_month:
            continue
        values = revenue_metrics(matrix, p, config.gross_margin).values
        values.update(survey_metrics(data.surveys, p.start(config.timezone), p.end(config.timezone)).values)
        rows[str(p)] = values
    return pd.DataFrame.from_dict(rows, orient="index").astype(float)


RECORD = ".history-record.json"  # what `csreport run` records in the history store once the report is published


def build_report(data: str | Path, period: str | None, config: str | Path | None = None,
                 output_dir: str | Path = ".", on_invalid: str = "stop", targets: str | Path | None = None,
                 history: str | Path | None = None) -> ReportContext:
    """Compute the report's content and write metrics.json and health.csv to ``output_dir``.

    The history store is only read here (deltas, significance); `csreport run` records
    the period after the report was rendered successfully.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    settings = load_config(config)
    p = Period.parse(period) if period else Period.last_complete()
    dataset = load_dataset(data, settings, on_invalid=on_invalid, rejects_dir=out / "rejects")
    aggregates = dataset.events.aggregates(p.previous, p) if dataset.events is not None else None
    goal = targets_for(settings, targets)
    evaluation = evaluate(dataset, p, settings, goal, History(history) if history else None, aggregates)
    previous = compute_metrics(dataset, p.previous, settings, aggregates)
    provenance = {
        "period": str(p),
        "source": str(data),
        "source_kind": dataset.source_kind,
        "fingerprint": dataset.fingerprint,
        "csreport_version": __version__,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "timezone": settings.timezone,
    }
    context = ReportContext(p, settings, dataset, evaluation.current, previous, evaluation,
                            _trends(dataset, settings, p), goal, provenance)
    write_outputs(context, out)
    return context


def write_outputs(context: ReportContext, out: Path) -> None:
    document = context.evaluation.document(context.data, context.provenance)
    (out / "metrics.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    context.current.health.to_csv(out / "health.csv", index=False, float_format="%.4f")
    ev = context.evaluation
    record = {"period": str(context.period), "fingerprint": context.data.fingerprint,
              "values": {ALL: ev.current.values} | {k: s.values for k, s in ev.segments.items()},
              "stats": {ALL: ev.current.stats} | {k: s.stats for k, s in ev.segments.items()}}
    (out / RECORD).write_text(json.dumps(record), encoding="utf-8")
