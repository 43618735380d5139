"""Targets per metric (and optionally per segment) and the RAG status they give (SPEC §4).

status: green = meets the target; amber = misses it by no more than the tolerance;
red = misses it by more; None = no target or no value. "Meets" follows the metric's
direction: value >= target when higher is better, value <= target when lower is better.
"""
from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ..config import Number, invalid_file, read_yaml_mapping
from ..metrics.catalog import BY_KEY, OBJECT_KEYS
from ..progress import say

Status = Literal["green", "amber", "red"]


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a target of .inf or .nan is no target
    target: Number
    # without it (and nothing to inherit) there is no amber band: a value meets the target or is red
    amber: Number = Field(0.0, ge=0, description="how far the value may miss the target and still be amber")
    direction: Literal["higher", "lower"] | None = None  # default: the metric's own direction
    source: str | None = None  # where the figure comes from


class Targets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metrics: dict[str, Target] = {}
    segments: dict[str, dict[str, Target]] = {}
    _file: Path | None = PrivateAttr(None)  # the user's targets file; None: the defaults shipped with csreport

    @model_validator(mode="after")
    def _known_metrics(self) -> Targets:
        for scope, table in [("metrics", self.metrics)] + [(f"segments.{s}", t) for s, t in self.segments.items()]:
            for key, target in table.items():
                info = BY_KEY.get(key)
                if info is None:
                    raise ValueError(f"{scope}.{key}: unknown metric; metric keys are listed in SPEC §3, "
                                     "company metrics in the config's metrics_module")
                if key in OBJECT_KEYS:
                    raise ValueError(f"{scope}.{key}: this metric is a table of values (per feature or cohort), which "
                                     "no single target can grade; remove the entry")
                if target.direction is None and info.higher_is_better is None:
                    raise ValueError(f"{scope}.{key}: this metric has no natural direction; set 'direction'")
        return self

    def unmatched_segments(self, segments: Iterable[str]) -> list[str]:
        """Warnings for the segments of the user's targets file that are not a segment of the data (a typo,
        or a segment without accounts): their targets grade nothing. A match but for letter case is named.
        None for the shipped defaults, whose example segments a company need not have."""
        if self._file is None:
            return []
        present = sorted(set(segments))
        by_case = {s.casefold(): s for s in present}
        return [f"targets for segment {name!r} in {self._file} are not used: the accounts table has no such segment"
                + (f" (did you mean {by_case[name.casefold()]!r}? segment names are compared exactly)"
                   if name.casefold() in by_case else f" (its segments: {', '.join(map(repr, present)) or 'none'})")
                for name in self.segments if name not in present]

    def lookup(self, key: str, segment: str | None = None) -> Target | None:
        if segment is not None and key in self.segments.get(segment, {}):
            seg = self.segments[segment][key]
            base = self.metrics.get(key)
            # a segment entry may override just the target and inherit the rest
            if base is not None and "amber" not in seg.model_fields_set:
                seg = seg.model_copy(update={"amber": base.amber})
            return seg
        return self.metrics.get(key)


def direction_of(key: str, target: Target) -> str:
    if target.direction:
        return target.direction
    return "higher" if BY_KEY[key].higher_is_better else "lower"


def status(value: float | None, key: str, target: Target | None) -> Status | None:
    """RAG status of one value against its target (see module docstring)."""
    if target is None or value is None or isinstance(value, dict):
        return None
    miss = target.target - value if direction_of(key, target) == "higher" else value - target.target
    # round away float noise so that a value exactly at a boundary lands on the documented side
    miss = round(miss, 9)
    if miss <= 0:
        return "green"
    return "amber" if miss <= target.amber else "red"


def statuses(values: dict, targets: Targets, segment: str | None = None) -> dict[str, Status | None]:
    return {key: status(value, key, targets.lookup(key, segment)) for key, value in values.items()}


DEFAULT_TARGETS = "targets.yaml"


def targets_for(config, override: str | Path | None = None) -> Targets:
    """The targets of a run: an explicit file, else the config's 'targets:' (relative to the config), else defaults."""
    if override:
        return load_targets(override)
    return load_targets(config.resolve(config.targets) if config.targets else None)


def warn_unmatched_segments(targets: Targets, segments: Iterable[str]) -> None:
    """Say (even with --quiet: it changes what the report grades) which targets' segments the data lacks."""
    for warning in targets.unmatched_segments(segments):
        say(f"warning: {warning}")


def load_targets(path: str | Path | None) -> Targets:
    """Read a targets YAML; ``None`` gives the defaults shipped with csreport."""
    if path is None:
        raw = yaml.safe_load(resources.files("csreport.defaults").joinpath(DEFAULT_TARGETS).read_text(encoding="utf-8"))
        where = "the default targets"
    else:
        raw = read_yaml_mapping(Path(path), "targets file",
                                "pass an existing YAML file to --targets, or fix 'targets:' in the config")
        where = f"targets file {path}"
    try:
        targets = Targets.model_validate(raw)
    except ValidationError as exc:
        raise invalid_file(where, exc) from None
    targets._file = None if path is None else Path(path)
    return targets
