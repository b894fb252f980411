"""Channel set-up: the list of channels, one channel's pipeline, triggers, form and integrations."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from domain.models import (
    Channel,
    Integration,
    Lead,
    LeadFormField,
    Partner,
    PipelineStatus,
    RewardTrigger,
)
from domain.names import NamedEntity
from tools.common import FULL_ROWS, Pair, channel_arg, context_of, keen_tool, money, session
from tools.context import KeenContext
from tools.envelope import Table, result

TRIGGER_COLUMNS = [
    "id",
    "channel",
    "name",
    "event",
    "status",
    "amount_type",
    "amount",
    "currency",
    "requires_approval",
    "active",
]


def trigger_amount(amount_type: str, amount: Any) -> str | None:
    """A fixed amount as money; a percentage as "10%" (it has no currency)."""
    if amount_type == "percentage":
        return f"{amount.normalize():f}%"
    return money(amount)


def trigger_table(
    s: Session, org_id: int, channel_id: int | None, columns: list[str] = TRIGGER_COLUMNS
) -> Table:
    """The reward triggers of one channel (or all), by channel then id, in `columns`."""
    stmt = (
        select(
            RewardTrigger.ext_id.label("id"),
            Channel.name.label("channel"),
            RewardTrigger.name.label("name"),
            RewardTrigger.event.label("event"),
            RewardTrigger.status.label("status"),
            RewardTrigger.amount_type.label("amount_type"),
            RewardTrigger.amount.label("amount"),
            Channel.currency.label("currency"),
            RewardTrigger.requires_approval.label("requires_approval"),
            RewardTrigger.active.label("active"),
        )
        .join(Channel, Channel.id == RewardTrigger.channel_id)
        .where(RewardTrigger.org_id == org_id)
        .order_by(Channel.name, RewardTrigger.ext_id)
        .limit(FULL_ROWS)
    )
    if channel_id is not None:
        stmt = stmt.where(RewardTrigger.channel_id == channel_id)
    rows = []
    for r in s.execute(stmt):
        values = dict(r._mapping)
        fixed = values["amount_type"] == "fixed"
        values["amount"] = trigger_amount(values["amount_type"], values["amount"])
        values["currency"] = values["currency"] if fixed else None
        values["requires_approval"] = bool(values["requires_approval"])
        values["active"] = bool(values["active"])
        rows.append([values[c] for c in columns])
    return Table("Reward triggers", columns, rows)


def _all_channels(s: Session, org_id: int) -> Pair:
    count, active = s.execute(
        select(
            func.count(Channel.id),
            func.coalesce(func.sum(case((Channel.status == "active", 1), else_=0)), 0),
        ).where(Channel.org_id == org_id)
    ).one()
    leads = (
        select(Lead.channel_id, func.count(Lead.id).label("n"))
        .where(Lead.org_id == org_id)
        .group_by(Lead.channel_id)
        .subquery()
    )
    stmt = (
        select(
            Channel.ext_id,
            Channel.name,
            Partner.name,
            Channel.status,
            Channel.currency,
            func.coalesce(leads.c.n, 0),
        )
        .join(Partner, Partner.id == Channel.partner_id)
        .outerjoin(leads, leads.c.channel_id == Channel.id)
        .where(Channel.org_id == org_id)
        .order_by(Channel.name, Channel.ext_id)
        .limit(FULL_ROWS)
    )
    rows = [list(r) for r in s.execute(stmt)]
    table = Table(
        "Channels", ["id", "channel", "partner", "status", "currency", "leads"], rows, total=count
    )
    problems = s.execute(
        select(Channel.name, Integration.kind, Integration.state, Integration.last_error)
        .join(Channel, Channel.id == Integration.channel_id)
        .where(Integration.org_id == org_id, Integration.state != "connected")
        .order_by(Channel.name, Integration.kind)
        .limit(FULL_ROWS)
    )
    answer = {
        "channels": int(count),
        "active": int(active),
        "integration_problems": [
            f"{channel} {kind}: {state}" + (f" — {error}" if error else "")
            for channel, kind, state, error in problems
        ],
    }
    return result(answer, [table])


def _one_channel(s: Session, org_id: int, entity: NamedEntity) -> Pair:
    channel = s.get_one(Channel, entity.id)
    partner = s.get_one(Partner, channel.partner_id)
    # org_id first: every lead index starts with it (a bare channel_id scans all leads).
    leads = s.scalar(
        select(func.count()).where(Lead.org_id == org_id, Lead.channel_id == channel.id)
    )
    leads = leads or 0
    pipeline = list(
        s.scalars(
            select(PipelineStatus.name)
            .where(PipelineStatus.channel_id == channel.id)
            .order_by(PipelineStatus.position, PipelineStatus.id)
        )
    )
    fields = s.execute(
        select(LeadFormField.field, LeadFormField.label, LeadFormField.required)
        .where(LeadFormField.channel_id == channel.id)
        .order_by(LeadFormField.position, LeadFormField.field)
    )
    integrations = list(
        s.execute(
            select(
                Integration.ext_id,
                Integration.kind,
                Integration.state,
                Integration.last_sync_at,
                Integration.last_error,
            )
            .where(Integration.channel_id == channel.id)
            .order_by(Integration.kind, Integration.ext_id)
        )
    )
    problems = [
        f"{kind}: {state}" + (f" — {last_error}" if last_error else "")
        for _, kind, state, _, last_error in integrations
        if state != "connected"
    ]
    answer: dict[str, Any] = {
        "channel": channel.name,
        "id": channel.ext_id,
        "partner": partner.name,
        "status": channel.status,
        "currency": channel.currency,
        "leads": int(leads),
        "pipeline": pipeline,
        "integration_problems": problems,
    }
    if channel.description:
        answer["description"] = channel.description
    own_columns = [c for c in TRIGGER_COLUMNS if c not in ("channel", "currency")]
    triggers = trigger_table(s, org_id, channel.id, own_columns)
    tables = [
        triggers,
        Table("Lead form fields", ["field", "label", "required"], [list(f) for f in fields]),
        Table(
            "Integrations",
            ["id", "kind", "state", "last_sync", "last_error"],
            [list(i) for i in integrations],
        ),
    ]
    return result(answer, tables)


@keen_tool
def channel_overview(channel: str | None = None, *, runtime: ToolRuntime[KeenContext]) -> Pair:
    """Without a channel: every channel with its partner, status, currency and lead count.
    With one: its partner, pipeline statuses, reward triggers, lead form fields (required
    flags) and integrations (state, last sync, last error).

    Args:
        channel: Channel name or id; "this" for the page's channel; omit for all channels.
    """
    ctx = context_of(runtime)
    with session() as s:
        entity = channel_arg(s, ctx, channel)
        if entity is None:
            return _all_channels(s, ctx.org_id)
        return _one_channel(s, ctx.org_id, entity)
