"""Validation of one input table against SPEC §1.

``validate_table`` turns a raw frame (source column names already mapped to SPEC
names, index = 1-based source row number) into a typed frame plus the list of
problems found. The caller decides: stop with :class:`InvalidDataError`, or
quarantine the offending rows.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from ..errors import DataError
from .parse import parse_column
from .queries import INVISIBLE
from .schema import SURVEY_SCALES, TABLES, Table

SHOWN_ROWS = 5
# numbers (MRR, invoice amounts) at or beyond this size are bad input: sums of them would overflow or lose cents
MAX_AMOUNT = 1e15
FIX_HINT = "Fix the source data, or rerun with --on-invalid=quarantine to set these rows aside."


@dataclass
class Problem:
    """One kind of bad input in one column, with every offending row."""

    table: str
    column: str
    rule: str
    rows: list[int] = field(default_factory=list)  # 1-based data-row numbers
    values: list[str] = field(default_factory=list)  # the offending cells of the first rows
    detail: str = ""
    blocking: bool = False  # True: no row-level fix (missing table/column, empty file)
    total: int | None = None  # count when rows are not numbered (events are checked in SQL)

    @property
    def count(self) -> int:
        return self.total if self.total is not None else len(self.rows)

    def message(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        if self.blocking:
            rows = ""
            if self.rows:
                more = f" and {len(self.rows) - SHOWN_ROWS} more" if len(self.rows) > SHOWN_ROWS else ""
                rows = f" (rows {', '.join(str(r) for r in self.rows[:SHOWN_ROWS])}{more})"
            return f"{where}: {self.rule}{rows}. {self.detail}".strip()
        values = ", ".join(repr(v) for v in self.values[:SHOWN_ROWS])
        count = f"{self.count} row{'s' if self.count != 1 else ''}"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:SHOWN_ROWS])
            more = f" and {len(self.rows) - SHOWN_ROWS} more" if len(self.rows) > SHOWN_ROWS else ""
            text = f"{where}: {self.rule} in {count} (rows {shown}{more}; values {values})"
        else:
            text = f"{where}: {self.rule} in {count} (first rows: {values})"
        return text + (f". {self.detail}" if self.detail else "")


class InvalidDataError(DataError):
    """Input data broke SPEC §1; the message lists every problem with its rows."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        blocking = any(p.blocking for p in problems)
        lines = [f"  - {p.message()}" for p in problems]
        footer = "" if blocking else f"\n(row 1 = the first data row of the table.) {FIX_HINT}"
        super().__init__("invalid input data:\n" + "\n".join(lines) + footer)


@dataclass
class ValidatedTable:
    frame: pd.DataFrame  # typed, SPEC column names, only the valid rows
    rejects: pd.DataFrame  # raw bad rows with a '_problem' column (empty if none)
    problems: list[Problem]


def shown_value(text: str, limit: int = 80) -> str:
    """An offending cell as a message quotes it: at most ``limit`` characters, the cut marked with '…'."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _problem(table: str, column: str, rule: str, mask: pd.Series, raw: pd.Series, detail: str = "") -> Problem | None:
    if not mask.any():
        return None
    rows = [int(r) for r in mask[mask].index]
    values = ["" if pd.isna(v) else shown_value(str(v)) for v in raw[mask].head(SHOWN_ROWS)]
    return Problem(table, column, rule, rows, values, detail)


def missing_columns(spec: Table, columns: list[str], mapping: dict[str, str]) -> list[Problem]:
    problems = []
    for col in spec.columns:
        if col.required and col.name not in columns:
            source = mapping.get(col.name)
            looked = f"column {source!r} (mapped in config columns.{spec.name})" if source else f"column {col.name!r}"
            problems.append(
                Problem(
                    spec.name,
                    col.name,
                    "required column is missing",
                    detail=f"Looked for {looked}; found {sorted(columns)}. Add the column or map it under "
                    f"'columns: {{{spec.name}: {{{col.name}: <your column>}}}}' in the config.",
                    blocking=True,
                )
            )
        elif not col.required and col.name not in columns and col.name not in mapping:
            # an optional column spelled almost right would silently turn its metrics into "not available"
            lookalikes = [c for c in columns if _column_form(str(c)) == col.name]
            if lookalikes:
                problems.append(Problem(
                    spec.name, col.name, "column name misspelled", blocking=True,
                    detail=f"the table has no column {col.name!r} but has {lookalikes[0]!r}, which differs only in "
                    "case, spaces, quotes or invisible characters; its values would be ignored. Rename the column "
                    f"to {col.name!r}, or map it under 'columns: {{{spec.name}: {{{col.name}: <your column>}}}}'."))
    return problems


def _column_form(name: str) -> str:
    """A column name as a person reads it: no control or invisible characters, quotes, case or outer spaces."""
    visible = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf"))
    return id_form(visible).strip("\"' ").replace(" ", "_")


def unmapped_columns(table: str, source_columns: list[str], mapping: dict[str, str]) -> list[Problem]:
    """Columns the config maps from a source column that the source does not have."""
    return [
        Problem(table, spec_name, "required column is missing", blocking=True,
                detail=f"The config maps it from column {source!r}, which {table} does not have; "
                f"found {sorted(source_columns)}. Fix 'columns.{table}.{spec_name}' in the config.")
        for spec_name, source in mapping.items()
        if source not in source_columns
    ]


def validate_table(
    spec: Table, raw: pd.DataFrame, tz: str, known_keys: Mapping[str, set[str]] | None,
    mapping: dict[str, str] | None = None,
) -> ValidatedTable:
    """Type every column and check keys, ranges and references.

    ``known_keys`` maps a table already loaded (e.g. accounts, tickets) to its valid key values;
    a reference to a table not in it (absent from the source, or not loaded yet) is not checked.
    """
    problems = missing_columns(spec, list(raw.columns), mapping or {})
    if problems:
        raise InvalidDataError(problems)

    typed = pd.DataFrame(index=raw.index)
    found: list[Problem | None] = []
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        values, bad = parse_column(raw[col.name], col.kind, tz)
        typed[col.name] = values
        found.append(_problem(spec.name, col.name, f"unparsable {col.kind}", bad, raw[col.name], _KIND_HINT[col.kind]))
        if col.kind == "str" and not col.free_text:
            found.append(invisible_characters(spec.name, col.name, values, raw[col.name]))
        if not col.nullable:
            empty = values.isna() & ~bad
            found.append(_problem(spec.name, col.name, "empty value", empty, raw[col.name],
                                  "This column must be filled."))

    if spec.key:
        complete = typed[list(spec.key)].notna().all(axis=1)
        dupes = typed[list(spec.key)].duplicated(keep=False) & complete
        label = "+".join(spec.key)
        shown = raw.loc[dupes[dupes].index, list(spec.key)].astype(str)  # only the duplicates: join is slow
        key_raw = shown.agg("/".join, axis=1).reindex(raw.index) if len(shown) else raw[spec.key[0]]
        found.append(_problem(spec.name, label, "duplicate key", dupes, key_raw, "Each key must appear once."))
        if len(spec.key) == 1:
            found.append(near_duplicates(spec.name, spec.key[0], typed[spec.key[0]], raw[spec.key[0]]))

    found.extend(_range_checks(spec, typed, raw))

    for column, table in spec.references.items():
        if known_keys is not None and table in known_keys and column in typed:
            found.append(unknown_references(spec.name, column, table, typed[column], raw[column], known_keys[table]))

    problems = [p for p in found if p is not None]
    bad_rows = sorted({r for p in problems for r in p.rows})
    rejects = raw.loc[bad_rows].copy()
    if bad_rows:
        reasons: dict[int, list[str]] = {r: [] for r in bad_rows}
        for p in problems:
            for r in p.rows:
                reasons[r].append(f"{p.column}: {p.rule}")
        rejects.insert(0, "_row", bad_rows)
        rejects["_problem"] = ["; ".join(reasons[r]) for r in bad_rows]
    return ValidatedTable(typed.drop(index=bad_rows), rejects, problems)


def id_form(value: str) -> str:
    """What an id looks like to a person: case, surrounding spaces and invisible characters (Unicode
    format characters such as zero-width spaces) do not count; compatibility forms are folded (NFKC)."""
    if value.isascii():  # NFKC leaves ASCII as it is and ASCII has no format character: the common case, fast
        return value.strip().casefold()
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", value) if unicodedata.category(ch) != "Cf")
    return visible.strip().casefold()


def near_duplicates(table: str, column: str, values: pd.Series, raw: pd.Series) -> Problem | None:
    """Ids that differ only in case, surrounding spaces or invisible characters: two rows a reader takes for one."""
    present = values.dropna().astype(str)
    distinct_values = present.unique()  # an id repeats on many rows: fold each distinct one once
    forms = present.map(dict(zip(distinct_values, map(id_form, distinct_values), strict=True)))
    distinct = pd.DataFrame({"value": present, "form": forms}).drop_duplicates()
    clashing = set(distinct.loc[distinct["form"].duplicated(keep=False), "form"])
    if not clashing:
        return None
    mask = forms.isin(clashing).reindex(values.index, fill_value=False).astype(bool)
    return _problem(table, column, "near-duplicate id", mask, raw,
                    "These ids differ only in case, surrounding spaces or invisible characters, so they read as one "
                    "id but count as several. Write each id the same way everywhere.")


def invisible_characters(table: str, column: str, values: pd.Series, raw: pd.Series) -> Problem | None:
    """Ids and categories holding an invisible character (zero-width space, byte-order mark, bidi control)."""
    hidden = values.astype("string").str.contains(INVISIBLE, regex=True).fillna(False).astype(bool)
    return _problem(table, column, "invisible character", hidden, raw,
                    "An invisible character (a zero-width space, a byte-order mark or a direction control) makes "
                    "this value count apart from the same text without it. Remove it from the source.")


def unknown_references(table: str, column: str, target: str, values: pd.Series, raw: pd.Series,
                       known: set[str]) -> Problem | None:
    """The rows whose non-empty ``column`` names no row of ``target`` (e.g. surveys.ticket_id -> tickets)."""
    key = TABLES[target].key[0]
    unknown = values.notna() & ~values.isin(known)
    return _problem(table, column, f"unknown {key}", unknown, raw,
                    unknown_detail(key, target, values[unknown].astype(str), known))


def unknown_detail(key: str, target: str, unknown: Iterable[str], known: Collection[str]) -> str:
    """How to fix ids of ``key`` that ``target`` does not list; ids are compared exactly (a space makes another
    id), so say so when spaces at the ends are all that differ from a listed one."""
    detail = f"Every {key} must be listed in the {target} table."
    if any(value.strip() in known for value in unknown):
        detail += (f" Some of these differ from a listed {key} only by spaces at the start or end: remove them "
                   "from the source.")
    return detail


_KIND_HINT = {
    "str": "",
    "float": "Expected a number such as 1250.50.",
    "int": "Expected a whole number.",
    "bool": "Expected true/false (or yes/no, 1/0).",
    "date": "Expected a date as YYYY-MM-DD.",
    "timestamp": "Expected an ISO 8601 timestamp such as 2026-10-05T14:30:00 or 2026-10-05T14:30:00+02:00.",
    "month": "Expected YYYY-MM or the first day of a month (YYYY-MM-01).",
}


def _range_checks(spec: Table, typed: pd.DataFrame, raw: pd.DataFrame) -> list[Problem | None]:
    out: list[Problem | None] = []
    for amount in (c.name for c in spec.columns if c.kind == "float" and c.name in typed):
        huge = typed[amount].notna() & (typed[amount].abs() >= MAX_AMOUNT)
        out.append(_problem(spec.name, amount, "number too large", huge, raw[amount],
                            "Amounts must be below 10^15; larger ones are export errors, and their sums would "
                            "overflow."))
    if spec.name == "revenue":
        negative = typed["mrr"].notna() & (typed["mrr"] < 0)
        out.append(_problem("revenue", "mrr", "negative MRR", negative, raw["mrr"], "MRR must be >= 0."))
    if spec.name == "surveys":
        kind = typed["survey"]
        unknown = kind.notna() & ~kind.isin(list(SURVEY_SCALES))
        *others, last = SURVEY_SCALES
        out.append(_problem("surveys", "survey", "unknown survey type", unknown, raw["survey"],
                            f"Use {', '.join(others)} or {last}."))
        for name, (low, high) in SURVEY_SCALES.items():
            score = typed["score"].astype("Float64")
            outside = ((kind == name) & score.notna() & ((score < low) | (score > high))).fillna(False).astype(bool)
            out.append(_problem("surveys", "score", f"score out of range {low}-{high} for {name}", outside,
                                raw["score"], f"{name.upper()} scores run from {low} to {high}."))
    if spec.name == "accounts" and "onboarded_at" in typed:
        onboarded, signup = typed["onboarded_at"], typed["signup_date"]
        early = onboarded.notna() & signup.notna() & (onboarded < signup)
        out.append(_problem("accounts", "onboarded_at", "earlier than signup_date", early, raw["onboarded_at"],
                            "An account cannot finish onboarding before it signed up."))
    if spec.name == "tickets":
        for col in ("first_response_at", "resolved_at"):
            if col in typed:
                before = typed[col].notna() & typed["created_at"].notna() & (typed[col] < typed["created_at"])
                out.append(_problem("tickets", col, "earlier than created_at", before, raw[col],
                                    f"A ticket cannot have {col} before it was created."))
    return out
