"""The only ways a lead changes after import: submitted, moved, or a purchase recorded.

Each writes the lead's history and an audit entry, then lets the reward engine fire the
channel's triggers, so "a status reached" always means the same thing wherever it happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import audit, reward_engine
from domain.models import Channel, Lead, LeadStatusChange, PipelineStatus, Purchase, Reward


class UnknownLead(LookupError):
    """No lead with that id in the organization."""


class UnknownChannel(LookupError):
    """No channel with that id in the organization."""


class InvalidLeadEvent(ValueError):
    """The event cannot happen as asked (unknown status, bad amount, id already taken)."""


@dataclass
class LeadEventResult:
    lead: Lead
    from_status: str | None
    to_status: str
    changed: bool = True
    """False when the lead was already in the requested status (nothing written)."""
    rewards: list[Reward] = field(default_factory=list)


@dataclass
class PurchaseResult:
    purchase: Purchase
    lead: Lead
    rewards: list[Reward] = field(default_factory=list)


def submit_lead(
    session: Session,
    org_id: int,
    channel: Channel | str,
    *,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    now: datetime | None = None,
    ext_id: str | None = None,
    contact_name: str | None = None,
    company_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    deal_value: Decimal | str | int | None = None,
    owner: str | None = None,
    properties: dict[str, Any] | None = None,
) -> LeadEventResult:
    """Create a lead in the pipeline's first status and fire `lead_submitted` triggers."""
    at = now or audit.utcnow()
    chan = _channel(session, org_id, channel)
    first = session.scalar(
        select(PipelineStatus)
        .where(PipelineStatus.channel_id == chan.id)
        .order_by(PipelineStatus.is_first.desc(), PipelineStatus.position)
        .limit(1)
    )
    if first is None:
        raise InvalidLeadEvent(f"Channel {chan.ext_id} has no pipeline statuses.")
    ext_id = ext_id or reward_engine.new_ext_id("ld")
    if session.scalar(select(Lead.id).where(Lead.org_id == org_id, Lead.ext_id == ext_id)):
        raise InvalidLeadEvent(f"A lead with id {ext_id!r} already exists.")
    lead = Lead(
        org_id=org_id,
        ext_id=ext_id,
        channel_id=chan.id,
        status_id=first.id,
        status_kind=first.kind,
        contact_name=contact_name,
        company_name=company_name,
        email=email,
        phone=phone,
        source=source,
        notes=notes,
        deal_value=None if deal_value is None else _money(deal_value, "deal value"),
        owner=owner,
        created_at=at,
        status_changed_at=at,
        properties=properties or {},
    )
    session.add(lead)
    session.flush()
    _history(session, lead, None, first.name, at)
    audit.record(
        session,
        org_id,
        actor,
        surface,
        "lead.submit",
        "lead",
        lead.ext_id,
        before=None,
        after={"status": first.name, "channel": chan.ext_id},
        thread_id=thread_id,
        at=at,
    )
    rewards = reward_engine.on_lead_submitted(session, lead, actor, surface, thread_id, at)
    # Creation is the lead's first entry into the first status.
    rewards += reward_engine.on_status_reached(session, lead, first, actor, surface, thread_id, at)
    return LeadEventResult(lead, None, first.name, True, rewards)


def move_lead(
    session: Session,
    org_id: int,
    lead_ext_id: str,
    to_status: str,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    now: datetime | None = None,
) -> LeadEventResult:
    """Move a lead to a status of its channel's pipeline; fire `status_reached` the first time."""
    at = now or audit.utcnow()
    lead = _lead(session, org_id, lead_ext_id)
    target = session.scalar(
        select(PipelineStatus).where(
            PipelineStatus.channel_id == lead.channel_id,
            PipelineStatus.name_key == to_status.strip().lower(),
        )
    )
    if target is None:
        names = session.scalars(
            select(PipelineStatus.name)
            .where(PipelineStatus.channel_id == lead.channel_id)
            .order_by(PipelineStatus.position)
        )
        raise InvalidLeadEvent(
            f"{to_status!r} is not a status of this lead's pipeline ({', '.join(names)})."
        )
    current = session.get_one(PipelineStatus, lead.status_id)
    if target.id == current.id:
        return LeadEventResult(lead, current.name, target.name, changed=False)
    lead.status_id = target.id
    lead.status_kind = target.kind
    lead.status_changed_at = at
    session.flush()
    _history(session, lead, current.name, target.name, at)
    audit.record(
        session,
        org_id,
        actor,
        surface,
        "lead.move",
        "lead",
        lead.ext_id,
        before={"status": current.name},
        after={"status": target.name},
        thread_id=thread_id,
        at=at,
    )
    rewards = reward_engine.on_status_reached(
        session, lead, target, actor=actor, surface=surface, thread_id=thread_id, now=at
    )
    return LeadEventResult(lead, current.name, target.name, True, rewards)


def record_purchase(
    session: Session,
    org_id: int,
    lead_ext_id: str,
    amount: Decimal | str | int,
    occurred_at: date | datetime,
    ext_id: str | None = None,
    *,
    actor: str,
    surface: str,
    thread_id: str | None = None,
    now: datetime | None = None,
) -> PurchaseResult:
    """Record a purchase by a lead's customer and fire the channel's `purchase` triggers."""
    at = now or audit.utcnow()
    lead = _lead(session, org_id, lead_ext_id)
    ext_id = ext_id or reward_engine.new_ext_id("pu")
    taken = select(Purchase.id).where(Purchase.org_id == org_id, Purchase.ext_id == ext_id)
    if session.scalar(taken):
        raise InvalidLeadEvent(f"A purchase with id {ext_id!r} already exists.")
    when = (
        occurred_at
        if isinstance(occurred_at, datetime)
        else datetime.combine(occurred_at, time.min)
    )
    purchase = Purchase(
        org_id=org_id,
        ext_id=ext_id,
        lead_id=lead.id,
        amount=_money(amount, "purchase amount"),
        occurred_at=when,
    )
    session.add(purchase)
    session.flush()
    audit.record(
        session,
        org_id,
        actor,
        surface,
        "purchase.record",
        "purchase",
        purchase.ext_id,
        before=None,
        after={"lead": lead.ext_id, "amount": f"{purchase.amount:.2f}"},
        thread_id=thread_id,
        at=at,
    )
    rewards = reward_engine.on_purchase_recorded(
        session, purchase, actor=actor, surface=surface, thread_id=thread_id, now=at
    )
    return PurchaseResult(purchase, lead, rewards)


def _money(value: Decimal | str | int, what: str) -> Decimal:
    """The dataset rule for money: a non-negative number with at most two decimal places."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidLeadEvent(f"The {what} {value!r} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidLeadEvent(f"The {what} must be a non-negative amount, not {value!r}.")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidLeadEvent(f"The {what} {value!r} has more than two decimal places.")
    return amount


def _channel(session: Session, org_id: int, channel: Channel | str) -> Channel:
    if isinstance(channel, Channel):
        if channel.org_id != org_id:
            raise UnknownChannel(f"Channel {channel.ext_id} is not in this organization.")
        return channel
    found = session.scalar(
        select(Channel).where(Channel.org_id == org_id, Channel.ext_id == channel)
    )
    if found is None:
        raise UnknownChannel(f"No channel {channel!r} in this organization.")
    return found


def _lead(session: Session, org_id: int, lead_ext_id: str) -> Lead:
    lead = session.scalar(select(Lead).where(Lead.org_id == org_id, Lead.ext_id == lead_ext_id))
    if lead is None:
        raise UnknownLead(f"No lead {lead_ext_id!r} in this organization.")
    return lead


def _history(
    session: Session, lead: Lead, from_status: str | None, to_status: str, at: datetime
) -> None:
    session.add(
        LeadStatusChange(
            org_id=lead.org_id,
            lead_id=lead.id,
            from_status=from_status,
            to_status=to_status,
            changed_at=at,
        )
    )
    session.flush()
