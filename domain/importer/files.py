"""The files and columns of dataset-format.md and dataset-extensions.md, as data.

Each column names the typed field it becomes (`id` becomes `ext_id`); reference columns keep the
customer's id until the writer resolves it. A file's typed fields are its columns, then the
fields its checks derive; unknown columns (leads' custom properties) travel beside them as text.

Typed values are in the form the database stores: timestamps as canonical naive-UTC text
(parse.parse_timestamp), money as Decimal, dates as date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from domain.enums import (
    AmountType,
    ChannelStatus,
    IntegrationState,
    RewardStatus,
    Role,
    StatusKind,
    TriggerEvent,
)
from domain.importer.parse import (
    Parser,
    enum_parser,
    parse_bool,
    parse_currency,
    parse_date,
    parse_integer,
    parse_money,
    parse_money_column,
    parse_timestamp,
    parse_timestamp_column,
)


@dataclass(frozen=True)
class Column:
    name: str
    parse: Parser | None = None  # None: kept as text
    required: bool = False
    default: Any = None
    field: str = ""  # typed field name; defaults to `name`
    ref: str | None = None  # the file whose ids this column references
    parse_all: Callable[[list[str]], list[Any] | None] | None = None  # a column at once, or None

    @property
    def key(self) -> str:
        return self.field or self.name


def _ref(name: str, target: str, required: bool = True) -> Column:
    return Column(name, required=required, ref=target)


def _timestamp(name: str, required: bool = False) -> Column:
    return Column(name, parse_timestamp, required, parse_all=parse_timestamp_column)


def _money(name: str, required: bool = False) -> Column:
    return Column(name, parse_money, required, parse_all=parse_money_column)


@dataclass(frozen=True)
class FileSpec:
    name: str
    required: bool
    columns: tuple[Column, ...]
    derived: tuple[str, ...] = ()  # typed fields filled by the file's own checks
    extras_field: str | None = None  # where unknown columns go, as a JSON object {name: text}
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(c.key for c in self.columns) + self.derived)

    @property
    def refs(self) -> tuple[Column, ...]:
        """The columns that reference another file's ids."""
        return tuple(c for c in self.columns if c.ref)

    @property
    def has_ids(self) -> bool:
        return "ext_id" in self.fields


def _id() -> Column:
    return Column("id", required=True, field="ext_id")


PARTNERS = FileSpec(
    "partners.csv",
    True,
    (_id(), Column("name", required=True), Column("email"), Column("tier"), Column("notes")),
)
CHANNELS = FileSpec(
    "channels.csv",
    True,
    (
        _id(),
        _ref("partner_id", "partners.csv"),
        Column("name", required=True),
        Column("status", enum_parser(ChannelStatus), default=ChannelStatus.active.value),
        Column("currency", parse_currency, default="USD"),
        _timestamp("created_at"),
        Column("description"),
    ),
)
PIPELINE = FileSpec(
    "pipeline.csv",
    False,
    (
        Column("channel_id"),
        Column("status", required=True),
        Column("kind", enum_parser(StatusKind), required=True),
        Column("position", parse_integer, required=True),
    ),
)
LEADS = FileSpec(
    "leads.csv",
    True,
    (
        _id(),
        _ref("channel_id", "channels.csv"),
        Column("contact_name"),
        Column("company_name"),
        Column("email"),
        Column("phone"),
        Column("source"),
        Column("notes"),
        _money("deal_value"),
        Column("status", required=True),
        _timestamp("created_at", required=True),
        _timestamp("status_changed_at"),
        Column("owner"),
    ),
    derived=("status_kind",),
    extras_field="properties",
)
HISTORY = FileSpec(
    "lead_status_history.csv",
    False,
    (
        _ref("lead_id", "leads.csv"),
        Column("from_status"),
        Column("to_status", required=True),
        _timestamp("changed_at", required=True),
    ),
)
TRIGGERS = FileSpec(
    "reward_triggers.csv",
    False,
    (
        _id(),
        _ref("channel_id", "channels.csv"),
        Column("name"),
        Column("event", enum_parser(TriggerEvent), required=True),
        Column("status"),
        Column("amount_type", enum_parser(AmountType), required=True),
        _money("amount", required=True),
        Column("requires_approval", parse_bool, default=True),
        Column("active", parse_bool, default=True),
    ),
)
PURCHASES = FileSpec(
    "purchases.csv",
    False,
    (
        _id(),
        _ref("lead_id", "leads.csv"),
        _money("amount", required=True),
        _timestamp("occurred_at", required=True),
    ),
)
REPORTS = FileSpec(
    "reward_reports.csv",
    False,
    (
        _id(),
        _ref("channel_id", "channels.csv"),
        Column("period_start", parse_date, required=True),
        Column("period_end", parse_date, required=True),
        Column("flag_note"),
    ),
)
REWARDS = FileSpec(
    "rewards.csv",
    False,
    (
        _id(),
        _ref("channel_id", "channels.csv"),
        _ref("lead_id", "leads.csv", required=False),
        _ref("trigger_id", "reward_triggers.csv", required=False),
        _ref("report_id", "reward_reports.csv", required=False),
        _money("amount", required=True),
        Column("status", enum_parser(RewardStatus), required=True),
        _timestamp("created_at", required=True),
        _timestamp("approved_at"),
        _timestamp("paid_at"),
        _timestamp("rejected_at"),
        Column("payment_reference"),
        Column("reject_reason"),
    ),
)
INTEGRATIONS = FileSpec(
    "integrations.csv",
    False,
    (
        _id(),
        _ref("channel_id", "channels.csv"),
        Column("kind", required=True),
        Column("state", enum_parser(IntegrationState), default=IntegrationState.connected.value),
        _timestamp("last_sync_at"),
        Column("last_error"),
    ),
)
FORM_FIELDS = FileSpec(
    "lead_form_fields.csv",
    False,
    (
        _ref("channel_id", "channels.csv"),
        Column("field", required=True),
        Column("label"),
        Column("required", parse_bool, default=False),
        Column("position", parse_integer, default=0),
    ),
)
USERS = FileSpec(
    "users.csv",
    False,
    (
        _id(),
        Column("email", required=True),
        Column("name"),
        Column("role", enum_parser(Role), required=True),
    ),
)

FILES: tuple[FileSpec, ...] = (
    PARTNERS,
    CHANNELS,
    PIPELINE,
    LEADS,
    HISTORY,
    TRIGGERS,
    PURCHASES,
    REPORTS,
    REWARDS,
    INTEGRATIONS,
    FORM_FIELDS,
    USERS,
)
"""Contract order, then the extension files: the order of reading, writing and counts."""
