"""Lead tools: find leads by any filter of metrics.md, and one lead's whole story."""

from __future__ import annotations

from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.leads import NO_OWNER, LeadFilter, LeadOrder, LeadRow, lead_detail, list_leads
from domain.models import Lead
from tools.common import (
    FULL_ROWS,
    MISSING_WORDS,
    Pair,
    ToolProblem,
    channel_arg,
    context_of,
    ids_like,
    keen_tool,
    money,
    partner_arg,
    period_arg,
    session,
    shown_rows,
    status_arg,
)
from tools.context import KeenContext
from tools.envelope import Table, result

LEAD_COLUMNS = [
    "id",
    "channel",
    "status",
    "company",
    "contact",
    "deal_value",
    "currency",
    "created",
    "days_in_status",
    "owner",
    "missing",
]
NOTES_CHARS = 2000


def _missing(row: LeadRow) -> list[str]:
    return [MISSING_WORDS.get(key, key) for key in row.missing]


def _lead_row(row: LeadRow) -> list[Any]:
    return [
        row.ext_id,
        row.channel,
        row.status,
        row.company,
        row.contact,
        money(row.deal_value),
        row.currency,
        row.created_at.date(),
        row.days_in_status,
        row.owner,
        _missing(row),
    ]


def _flag_words(name: str, flag: bool | None) -> list[str]:
    if flag is None:
        return []
    return [name if flag else f"not {name}"]


@keen_tool
def find_leads(
    channel: str | None = None,
    partner: str | None = None,
    status: str | None = None,
    status_kind: Literal["open", "won", "lost"] | None = None,
    period: str | None = None,
    stuck: bool | None = None,
    stuck_days: int | None = None,
    needs_action: bool | None = None,
    missing_information: bool | None = None,
    owner: str | None = None,
    source: str | None = None,
    property_name: str | None = None,
    property_value: str | None = None,
    text: str | None = None,
    sort: LeadOrder | None = None,
    limit: int = 20,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Count and list leads matching all the given filters (newest first; stuck ones longest
    waiting first).

    Args:
        channel: Channel name or id; "this" for the page's channel.
        partner: Partner name or id.
        status: Pipeline status name, e.g. "Meeting booked".
        status_kind: Kind of the current status.
        period: When the leads were created, e.g. "last month", "Q3 2026"; omit for all time.
        stuck: True for open leads unchanged for more than 14 days.
        stuck_days: With stuck, another number of days, e.g. 30.
        needs_action: True for leads in the first status for more than 2 days.
        missing_information: True for leads without email and phone, deal value or company.
        owner: Part of the owner's name; "none" for leads nobody owns.
        source: Where the lead came from, e.g. "event", "webinar", "referral".
        property_name: Custom property, e.g. "industry" (with property_value).
        property_value: Value the custom property must equal.
        text: Words to find in contact, company, email or notes.
        sort: Row order, e.g. deal_value (largest first); default newest.
        limit: Rows to show (the full list goes to the data).
    """
    ctx = context_of(runtime)
    if (property_name is None) != (property_value is None):
        raise ToolProblem("Give property_name and property_value together.")
    when = period_arg(ctx, period)
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        pa = partner_arg(s, ctx, partner)
        status_name = status_arg(s, ctx, status, ch.id if ch else None)
        f = LeadFilter(
            channel_ids=[ch.id] if ch else None,
            partner_ids=[pa.id] if pa else None,
            statuses=[status_name] if status_name else None,
            status_kinds=[status_kind] if status_kind else None,
            period=when,
            stuck=stuck,
            stuck_days=stuck_days if stuck else None,
            needs_action=needs_action,
            missing_information=missing_information,
            owner=owner or None,
            source=source or None,
            properties={property_name: property_value} if property_name and property_value else {},
            text=text or None,
            today=ctx.today,
        )
        order: LeadOrder = sort or ("longest_in_status" if stuck or needs_action else "newest")
        rows, total = list_leads(s, ctx.org_id, f, limit=FULL_ROWS, order=order)
    words = [
        *_flag_words(f"stuck over {stuck_days} days" if stuck and stuck_days else "stuck", stuck),
        *_flag_words("needs action", needs_action),
        *_flag_words("missing information", missing_information),
        *([f"status {status_name}"] if status_name else []),
        *([f"{status_kind} leads"] if status_kind else []),
        *([f"channel {ch.name}"] if ch else []),
        *([f"partner {pa.name}"] if pa else []),
        *([_owner_words(owner)] if owner else []),
        *([f"source {source}"] if source else []),
        *([f"{property_name} = {property_value}"] if property_name else []),
        *([f"text '{text}'"] if text else []),
    ]
    table = Table("Leads", LEAD_COLUMNS, [_lead_row(r) for r in rows], total=total)
    answer = {"count": total, "filters": ", ".join(words) or "none"}
    return result(answer, [table], when.describe(), shown_rows(limit))


def _suggest_leads(s: Session, org_id: int, lead_id: str) -> list[str]:
    stmt = (
        select(Lead.ext_id)
        .where(Lead.org_id == org_id, func.lower(Lead.ext_id).like(ids_like(lead_id).lower()))
        .order_by(Lead.ext_id)
        .limit(5)
    )
    return list(s.scalars(stmt))


@keen_tool
def get_lead(lead_id: str, *, runtime: ToolRuntime[KeenContext]) -> Pair:
    """One lead with all its fields, custom properties, status history and rewards.

    Args:
        lead_id: The lead's id, e.g. "lead-0198".
    """
    ctx = context_of(runtime)
    with session() as s:
        detail = lead_detail(s, ctx.org_id, lead_id.strip(), ctx.today)
        if detail is None:
            raise ToolProblem(
                f"No lead '{lead_id.strip()}'.", suggestions=_suggest_leads(s, ctx.org_id, lead_id)
            )
    row = detail.lead
    notes = detail.notes
    if notes and len(notes) > NOTES_CHARS:
        notes = notes[: NOTES_CHARS - 1] + "…"
    lead = {
        "id": row.ext_id,
        "channel": row.channel,
        "partner": detail.partner,
        "status": row.status,
        "status_kind": row.status_kind,
        "company": row.company,
        "contact": row.contact,
        "email": row.email,
        "phone": row.phone,
        "source": detail.source,
        "owner": row.owner,
        "deal_value": money(row.deal_value),
        "currency": row.currency,
        "created": row.created_at,
        "status_changed": row.status_changed_at,
        "days_in_status": row.days_in_status,
        "stuck": row.stuck,
        "needs_action": row.needs_action,
        "missing": _missing(row),
        "properties": detail.properties,
        "notes": notes,
    }
    tables = [
        Table(
            "Status history",
            ["changed_at", "from", "to"],
            [[h.changed_at, h.from_status, h.to_status] for h in detail.history],
        ),
        Table(
            "Rewards",
            ["id", "amount", "currency", "status", "trigger"],
            [
                [r.ext_id, money(r.amount), row.currency, r.status, r.trigger]
                for r in detail.rewards
            ],
        ),
    ]
    if detail.purchases:
        tables.append(
            Table(
                "Purchases",
                ["id", "amount", "currency", "occurred"],
                [
                    [p.ext_id, money(p.amount), row.currency, p.occurred_at]
                    for p in detail.purchases
                ],
            )
        )
    return result({"lead": lead}, tables)


def _owner_words(owner: str) -> str:
    return "no owner" if owner.strip().lower() in NO_OWNER else f"owner {owner}"
