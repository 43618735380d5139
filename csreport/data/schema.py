"""The input data model of SPEC §1, as data: which tables, columns, types, keys and ranges."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["str", "date", "timestamp", "float", "int", "bool", "month"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True  # must the column exist?
    nullable: bool = False  # may a cell be empty?
    references: str | None = None  # a table whose key every non-empty cell must name (when that table is present)
    free_text: bool = False  # words for people (names, comments), never counted or grouped by


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique key
    account_column: str | None = "account_id"  # must reference accounts.account_id (the accounts key)
    required: bool = False  # must the table exist?
    extra_checks: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def references(self) -> dict[str, str]:
        """column -> the table whose (single-column) key its values must name."""
        found = {self.account_column: "accounts"} if self.account_column else {}
        return found | {c.name: c.references for c in self.columns if c.references}


SURVEY_SCALES = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            (
                Column("account_id", "str"),
                Column("name", "str", free_text=True),
                Column("segment", "str"),
                Column("signup_date", "date"),
                Column("region", "str", required=False, nullable=True),
                Column("csm", "str", required=False, nullable=True),
                Column("csm_email", "str", required=False, nullable=True),  # where `email --batch` sends a book
                Column("plan", "str", required=False, nullable=True),
                Column("onboarded_at", "date", required=False, nullable=True),
            ),
            key=("account_id",),
            account_column=None,
            required=True,
        ),
        Table(
            "revenue",
            (Column("account_id", "str"), Column("month", "month"), Column("mrr", "float")),
            key=("account_id", "month"),
            required=True,
        ),
        Table(
            "surveys",
            (
                Column("response_id", "str"),
                Column("account_id", "str"),
                Column("survey", "str"),
                Column("score", "int"),
                Column("responded_at", "timestamp"),
                Column("comment", "str", required=False, nullable=True, free_text=True),
                Column("contact", "str", required=False, nullable=True, free_text=True),
                Column("ticket_id", "str", required=False, nullable=True, references="tickets"),
            ),
            key=("response_id",),
        ),
        Table(
            "tickets",
            (
                Column("ticket_id", "str"),
                Column("account_id", "str"),
                Column("created_at", "timestamp"),
                Column("first_response_at", "timestamp", required=False, nullable=True),
                Column("resolved_at", "timestamp", required=False, nullable=True),
                Column("priority", "str", required=False, nullable=True),
                Column("channel", "str", required=False, nullable=True),
            ),
            key=("ticket_id",),
        ),
        Table(
            "events",
            (
                Column("account_id", "str"),
                Column("user_id", "str"),
                Column("event", "str"),
                Column("occurred_at", "timestamp"),
            ),
        ),
        Table(
            "referrals",
            (
                Column("referral_id", "str"),
                Column("referrer_account_id", "str"),
                Column("referred_at", "timestamp"),
                Column("converted", "bool"),
            ),
            key=("referral_id",),
            account_column="referrer_account_id",
        ),
        Table(
            "invoices",
            (
                Column("invoice_id", "str"),
                Column("account_id", "str"),
                Column("due_date", "date"),
                Column("paid_date", "date", required=False, nullable=True),
                Column("amount", "float"),
            ),
            key=("invoice_id",),
        ),
    )
}

# the one list of table names, in SPEC §1 order (config validation, file lookup and loading use it)
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
# the tables read into pandas and validated row by row (events stay in their engine), in load order: a table
# comes after those it references (every table names accounts; surveys.ticket_id must name a ticket)
FRAME_TABLES: tuple[str, ...] = ("accounts", "revenue", "tickets", "surveys", "referrals", "invoices")
assert sorted(FRAME_TABLES) == sorted(name for name in TABLE_NAMES if name != "events")
