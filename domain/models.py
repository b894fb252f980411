"""The relational model of a Keen organization: partners, channels, leads, rewards and reports.

Every row carries `org_id`, and every customer-chosen id is kept as `ext_id`, unique per
organization, so imports upsert by it and answers cite the ids customers know.
Timestamps are naive UTC; money is `Numeric(14, 2)` in the channel's currency.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Money = Numeric(14, 2)

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(50))
    notes: Mapped[str | None] = mapped_column(Text)

    channels: Mapped[list[Channel]] = relationship(back_populates="partner")


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    created_at: Mapped[datetime | None] = mapped_column(DateTime)
    description: Mapped[str | None] = mapped_column(Text)

    partner: Mapped[Partner] = relationship(back_populates="channels")
    statuses: Mapped[list[PipelineStatus]] = relationship(
        back_populates="channel", order_by="PipelineStatus.position"
    )


class PipelineStatus(Base):
    """One status of a channel's pipeline; default pipelines are materialised per channel."""

    __tablename__ = "pipeline_statuses"
    __table_args__ = (UniqueConstraint("channel_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))  # lower-cased, for matching
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer)
    is_first: Mapped[bool] = mapped_column(Boolean, default=False)

    channel: Mapped[Channel] = relationship(back_populates="statuses")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("org_id", "ext_id"),
        Index("ix_leads_org_channel_created", "org_id", "channel_id", "created_at"),
        Index("ix_leads_org_created", "org_id", "created_at"),
        Index("ix_leads_org_kind_changed", "org_id", "status_kind", "status_changed_at"),
        # Per-status counts with their stuck share read only this index.
        Index(
            "ix_leads_org_status_kind_changed",
            "org_id",
            "status_id",
            "status_kind",
            "status_changed_at",
        ),
        # Covering index of the per-channel / per-status aggregates (metrics, funnel,
        # patterns): they read only these columns, so the scan never touches the wide rows.
        Index(
            "ix_leads_org_channel_figures",
            "org_id",
            "channel_id",
            "status_id",
            "status_kind",
            "created_at",
            "status_changed_at",
            "deal_value",
        ),
        # The planner's catalog lists the distinct owners and sources: an index walk, not a
        # scan of every lead (0.8 s each at 1M leads on SQLite).
        Index("ix_leads_org_owner", "org_id", "owner"),
        Index("ix_leads_org_source", "org_id", "source"),
        # The source filter is case-insensitive equality on lower(source).
        Index("ix_leads_org_source_lower", "org_id", text("lower(source)")),
        # The missing-information rule reads only these: an index-only scan, not the wide rows.
        Index(
            "ix_leads_org_contact_fields", "org_id", "company_name", "email", "phone", "deal_value"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ext_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    status_id: Mapped[int] = mapped_column(ForeignKey("pipeline_statuses.id"))
    status_kind: Mapped[str] = mapped_column(String(10))  # copy of the status's kind
    contact_name: Mapped[str | None] = mapped_column(String(200))
    company_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    deal_value: Mapped[Decimal | None] = mapped_column(Money)
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    channel: Mapped[Channel] = relationship()
    status: Mapped[PipelineStatus] = relationship()


class LeadStatusChange(Base):
    __tablename__ = "lead_status_history"
    __table_args__ = (
        UniqueConstraint("lead_id", "to_status", "changed_at"),
        # One lead's story: without it SQLite scans the whole organization's history.
        Index("ix_lead_status_history_org_lead", "org_id", "lead_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    from_status: Mapped[str | None] = mapped_column(String(100))
    to_status: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(DateTime)


class Purchase(Base):
    __tablename__ = "purchases"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)


class RewardTrigger(Base):
    __tablename__ = "reward_triggers"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(100))  # for status_reached
    amount_type: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(Money)
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RewardReport(Base):
    __tablename__ = "reward_reports"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    flag_note: Mapped[str | None] = mapped_column(Text)


class Reward(Base):
    __tablename__ = "rewards"
    __table_args__ = (
        UniqueConstraint("org_id", "ext_id"),
        # The once-only rule: one reward per trigger and lead event (or purchase).
        UniqueConstraint("trigger_id", "event_key"),
        Index("ix_rewards_org_status", "org_id", "status"),
        Index("ix_rewards_org_channel_created", "org_id", "channel_id", "created_at"),
        # Newest-first lists (all statuses; per status), and paid-in-period lists.
        Index("ix_rewards_org_created", "org_id", "created_at"),
        # One lead's rewards in order (without it SQLite walks ix_rewards_org_created instead).
        Index("ix_rewards_org_lead", "org_id", "lead_id", "created_at"),
        Index("ix_rewards_org_status_created", "org_id", "status", "created_at"),
        Index("ix_rewards_org_status_paid", "org_id", "status", "paid_at"),
        # Covering the reward totals per channel and per report (index-only aggregates).
        Index(
            "ix_rewards_org_channel_figures",
            "org_id",
            "channel_id",
            "status",
            "created_at",
            "amount",
        ),
        Index("ix_rewards_org_report_figures", "org_id", "report_id", "status", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    ext_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    trigger_id: Mapped[int | None] = mapped_column(ForeignKey("reward_triggers.id"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reward_reports.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"))
    event_key: Mapped[str | None] = mapped_column(String(120))
    amount: Mapped[Decimal] = mapped_column(Money)
    base_amount: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    rejected_at: Mapped[datetime | None] = mapped_column(DateTime)
    payment_reference: Mapped[str | None] = mapped_column(String(200))
    reject_reason: Mapped[str | None] = mapped_column(Text)


class Integration(Base):
    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="connected")
    last_sync_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class LeadFormField(Base):
    __tablename__ = "lead_form_fields"
    __table_args__ = (UniqueConstraint("channel_id", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    field: Mapped[str] = mapped_column(String(100))
    label: Mapped[str | None] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class StaffUser(Base):
    __tablename__ = "staff_users"
    __table_args__ = (UniqueConstraint("org_id", "ext_id"), UniqueConstraint("org_id", "email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    ext_id: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(20), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 hex
    name: Mapped[str | None] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(200), default="chat")  # space separated
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_org_at", "org_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(200))
    surface: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    thread_id: Mapped[str | None] = mapped_column(String(100))
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)


class ConversationThread(Base):
    """Who owns a conversation: a thread belongs to one organization and one user."""

    __tablename__ = "conversation_threads"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user: Mapped[str] = mapped_column(String(200))
    surface: Mapped[str] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class SlackLink(Base):
    """A Slack user acting as one staff user of one organization (`keen slack link`).

    `team_id` is the Slack workspace, or "" for any workspace (Slack user ids rarely repeat).
    """

    __tablename__ = "slack_links"
    __table_args__ = (UniqueConstraint("team_id", "slack_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(32), default="")
    slack_user_id: Mapped[str] = mapped_column(String(32))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class SlackEventReceipt(Base):
    """Slack event ids already accepted, so a retried delivery is answered once in any process.

    Not scoped to an organization: the id arrives before the asker is known, and Slack makes it
    unique across workspaces.
    """

    __tablename__ = "slack_event_receipts"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
