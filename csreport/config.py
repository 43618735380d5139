"""The run configuration: a YAML file validated with pydantic.

Everything has a sensible default, so a config file is optional. Secrets never
live here: SMTP and database passwords come from the environment.
"""
from __future__ import annotations

import json
import re
import string
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from .data.schema import TABLE_NAMES
from .errors import ConfigError

if TYPE_CHECKING:
    from .metrics.custom import CustomMetric

ENGINE_VARIABLE = "CSREPORT_ENGINE"  # set by --engine, so that the report notebook's kernel uses it too


# a number in a config or targets file is written as a number: YAML's `true`, `yes` or "40" is refused, not
# read as 1 or 40 (a target of `true` made an NPS of 25 green); an integer is a number too
Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]


class _Strict(BaseModel):
    # .inf and .nan are floats to YAML, never a setting: 1e400 SLA hours made every ticket on time
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key written twice in one mapping is an error, not the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"{key!r} is written twice (lines {seen[key]} and {key_node.start_mark.line + 1}); "
                                "keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def invalid_file(what: str, exc: ValidationError) -> ConfigError:
    """The error for a YAML file (config, targets) whose values are wrong: one line per problem, naming
    where it is (``report.sla_hours``) and how to write it."""
    lines = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] in ("float_type", "int_type"):  # pydantic: "Input should be a valid number"
            written = json.dumps(problem["input"], default=str, ensure_ascii=False)  # as YAML shows it: true, "40"
            message = (f"{written} is not a number: write the number itself, e.g. 40 "
                       "(no quotes; true, yes and on are not numbers)")
        lines.append(f"  - {where}: {message}" if where else f"  - {message}")
    return ConfigError(f"{what} is invalid:\n" + "\n".join(lines))


# YAML 1.1 (PyYAML) reads 1e3 as the text "1e3"; YAML 1.2 and every reader of the file read a number
_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                       re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                                       list("-+0123456789"))


def read_yaml_mapping(path: Path, what: str, fix: str) -> dict[str, Any]:
    """The mapping a YAML file (the config, a targets file) holds; a ConfigError naming ``what`` and the
    file otherwise: missing (``fix`` says what to pass instead), not UTF-8, not YAML, a key written twice,
    or not a mapping. An empty file is an empty mapping."""
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist; {fix}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        byte = f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}"
        raise ConfigError(f"{what} {path} is not UTF-8 text ({byte}); save it as UTF-8") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{what} {path} must hold a mapping (key: value lines) at the top level")
    return raw


class HealthWeights(_Strict):
    usage: Number = Field(0.40, ge=0)
    feedback: Number = Field(0.30, ge=0)
    support: Number = Field(0.20, ge=0)
    payment: Number = Field(0.10, ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> HealthWeights:
        total = self.usage + self.feedback + self.support + self.payment
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"health weights must add up to 1.0, they add up to {total:g}")
        return self


class HealthBands(_Strict):
    green: Number = 75.0
    amber: Number = 50.0

    @model_validator(mode="after")
    def _ordered(self) -> HealthBands:
        if not self.amber <= self.green:
            raise ValueError("health band 'amber' must not be above 'green'")
        return self


class HealthConfig(_Strict):
    weights: HealthWeights = HealthWeights()
    bands: HealthBands = HealthBands()
    # the health backtest scores customers h months before the period and checks who churned by it
    backtest_months: Count = Field(3, ge=1)


def one_line(text: str, what: str) -> str:
    """Text that goes into a header line (email headers, the report's title): no line breaks or control characters."""
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) == "Cc"})
    if bad:
        raise ValueError(f"{what} must be one line of text; it holds control characters ({', '.join(bad)}, "
                         "e.g. a line break)")
    return text


# the placeholders an email subject may use
SUBJECT_FIELDS = ("period_label", "period", "company")


class ReportConfig(_Strict):
    company: str = Field("Demo Company", max_length=200)
    title: str = Field("Customer Success Report", max_length=200)
    paper: Literal["A4", "Letter"] = "A4"
    comments_shown: Count = Field(6, ge=0, le=50)
    at_risk_shown: Count = Field(10, ge=0, le=100)
    # the PDF step is stopped (exit 5) after this long: no input may keep the monthly run busy for hours
    render_timeout_seconds: Number = Field(300.0, gt=0)

    @field_validator("company", "title")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return one_line(value, "the company name and title")


class EmailConfig(_Strict):
    sender: str | None = Field(None, alias="from")
    to: list[str] = []
    subject: str = Field("Customer Success Report — {period_label}", max_length=300)
    # `csreport email --batch --by csm`: each CSM's address (or addresses); else the accounts' csm_email column
    csm_addresses: dict[str, str | list[str]] = {}

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("sender", "subject")
    @classmethod
    def _header_line(cls, value: str | None) -> str | None:
        return None if value is None else one_line(value, "email.from and email.subject")

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [one_line(address, "each email.to address") for address in value]

    @field_validator("subject")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        try:
            fields = [name for _, name, spec, conversion in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"email.subject {value!r} is not a valid template ({exc}); write a literal brace as "
                             "{{ or }}") from None
        unknown = [f for f in fields if f not in SUBJECT_FIELDS]
        if unknown:
            allowed = ", ".join("{" + f + "}" for f in SUBJECT_FIELDS)
            raise ValueError(f"email.subject uses {', '.join('{' + f + '}' for f in unknown)}; the placeholders are "
                             f"{allowed} (write a literal brace as {{{{ or }}}})")
        return value


class SparkConfig(_Strict):
    """Where Spark runs and where it finds the events (with ``engine: spark``)."""

    master: str | None = None  # e.g. spark://host:7077, yarn, local[4]; else $SPARK_MASTER, else local[*]
    conf: dict[str, str | int | float | bool] = {}  # any spark.* setting, e.g. spark.executor.memory: 8g
    # the events: a Parquet file or folder (any URI Spark reads, e.g. s3a://bucket/events/), or a catalog table;
    # neither: the data folder's events table
    events_path: str | None = None
    events_table: str | None = None

    @model_validator(mode="after")
    def _one_events_source(self) -> SparkConfig:
        if self.events_path and self.events_table:
            raise ValueError("set spark.events_path or spark.events_table, not both")
        return self


class EngagementConfig(_Strict):
    # the events that make a user or an account active (SPEC §3 "Active-user definition"); None: every event
    active_events: list[str] | None = Field(None, min_length=1)


class Config(_Strict):
    """Validated settings; see README 'Configuration' for an annotated example."""

    timezone: str = "UTC"
    sla_hours: Number = Field(48.0, gt=0)
    gross_margin: Number = Field(0.8, gt=0, le=1)
    health: HealthConfig = HealthConfig()
    # user column name -> SPEC column name is written the other way round, SPEC: user,
    # because that is how people read a mapping: "account_id comes from 'Customer ID'".
    columns: dict[str, dict[str, str]] = {}
    # optional file/table names per SPEC table, e.g. {accounts: crm_export.csv}
    tables: dict[str, str] = {}
    targets: str | None = None
    # the company's own metrics: a Python file of @csreport.metric functions (README "Company metrics")
    metrics_module: str | None = None
    # where the events are aggregated: duckdb (embedded, default) or spark; a PostgreSQL source aggregates in PostgreSQL
    engine: Literal["duckdb", "spark"] = "duckdb"
    spark: SparkConfig = SparkConfig()
    session_gap_minutes: Number = Field(30.0, gt=0)
    engagement: EngagementConfig = EngagementConfig()
    report: ReportConfig = ReportConfig()
    email: EmailConfig = EmailConfig()
    # where the config came from, so relative paths inside it resolve next to it
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    _custom_metrics: tuple[CustomMetric, ...] = PrivateAttr(default=())

    @property
    def custom_metrics(self) -> tuple[CustomMetric, ...]:
        """The metrics ``metrics_module`` declares (loaded by :func:`load_config`)."""
        return self._custom_metrics

    def resolve(self, path: str) -> Path:
        """A path from the config, relative to the config file's folder."""
        candidate = Path(path)
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'") \
                from None
        return value

    @field_validator("columns", "tables")
    @classmethod
    def _known_tables(cls, value: dict) -> dict:
        unknown = sorted(set(value) - set(TABLE_NAMES))
        if unknown:
            raise ValueError(f"unknown table(s) {unknown}; tables are {list(TABLE_NAMES)}")
        return value


def load_config(config_path: str | Path | None) -> Config:
    """Read and validate a YAML config; ``None`` gives the defaults.

    The config's company metrics are loaded and registered in the metric catalog (replacing
    those of a config loaded before), so targets, tables and deltas know them.
    """
    config = _read_config(config_path)
    from .metrics import catalog  # late: the metrics package imports this module

    if config.metrics_module:
        from .metrics.custom import load_metrics_module  # only then: it imports pandas

        config._custom_metrics = load_metrics_module(config.resolve(config.metrics_module))
    catalog.use_custom(m.info for m in config.custom_metrics)
    return config


def _read_config(config_path: str | Path | None) -> Config:
    if config_path is None:
        return Config()
    path = Path(config_path)
    raw = read_yaml_mapping(path, "config file", "pass an existing YAML file to --config")
    try:
        return Config(**raw, base_dir=path.resolve().parent)
    except ValidationError as exc:
        raise invalid_file(f"config file {path}", exc) from None
