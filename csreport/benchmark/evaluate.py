"""A period's metrics put in context: status against targets, segments, comparison with history.

This is what both `csreport metrics` and the report notebook produce, and what a
run records in the history store.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import Config
from ..data import Dataset
from ..data.events import EngagementAggregates
from ..metrics import PeriodMetrics, compute_metrics
from ..metrics.compute import SegmentParts, compute_segments, event_aggregates
from ..periods import Period
from .compare import comparison
from .history import ALL, History
from .targets import Targets, statuses


@dataclass
class Evaluation:
    period: Period
    current: PeriodMetrics
    segments: dict[str, PeriodMetrics]
    comparison: dict
    segment_status: dict[str, dict] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)  # company-wide target per metric, where set

    def document(self, data: Dataset, provenance: dict | None = None) -> dict:
        """metrics.json: SPEC §5 plus comparison, segments, data quality and provenance."""
        doc = self.current.to_json()
        doc["targets"] = self.targets
        doc["comparison"] = self.comparison
        doc["segments"] = {
            name: {"metrics": seg.to_json()["metrics"], "status": self.segment_status[name]}
            for name, seg in self.segments.items()
        }
        doc["data_quality"] = {name: q.__dict__ for name, q in data.quality.items()}
        if provenance:
            doc["provenance"] = provenance
        return doc

    def record(self, history: History, fingerprint: str) -> int:
        """Upsert this period (all customers and every segment) into the history store."""
        values = {ALL: self.current.values} | {name: seg.values for name, seg in self.segments.items()}
        stats = {ALL: self.current.stats} | {name: seg.stats for name, seg in self.segments.items()}
        return history.write_period(str(self.period), values, stats, fingerprint)


def evaluate(data: Dataset, period: Period, config: Config, targets: Targets, history: History | None,
             aggregates: EngagementAggregates | None = None, segment_parts: SegmentParts | None = None) -> Evaluation:
    """``aggregates`` and ``segment_parts`` may be prepared once for many periods (backfill)."""
    # P and the health backtest month L, prepared once for the company and every segment
    aggregates = event_aggregates(data, period, config, aggregates)
    current = compute_metrics(data, period, config, aggregates)
    current.status = statuses(current.values, targets)
    segments = compute_segments(data, period, config, aggregates, segment_parts)
    segment_status = {name: statuses(seg.values, targets, name) for name, seg in segments.items()}
    for name, seg in segments.items():
        seg.status = segment_status[name]
    past = history.read([str(period.previous), str(period.shift(-12))]) if history else {}
    return Evaluation(period, current, segments, comparison(period, current.values, current.stats, past),
                      segment_status, {key: t.target for key, t in targets.metrics.items()})
