"""Tiny ORM builders for hand-worked test scenarios (no importer involved)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from domain.enums import DEFAULT_PIPELINE
from domain.models import (
    Channel,
    Lead,
    Organization,
    Partner,
    PipelineStatus,
    Purchase,
    Reward,
    RewardReport,
    RewardTrigger,
)

_ids = itertools.count(1)


def _dt(value: date | datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day)


@dataclass
class World:
    """One organization being built in a test; keeps statuses by (channel, name) at hand."""

    session: Session
    org: Organization
    statuses: dict[tuple[int, str], PipelineStatus] = field(default_factory=dict)

    @classmethod
    def create(cls, session: Session, slug: str = "acme") -> World:
        org = Organization(slug=slug, name=slug.title())
        session.add(org)
        session.flush()
        return cls(session, org)

    def partner(self, name: str, **kw: object) -> Partner:
        p = Partner(org_id=self.org.id, ext_id=kw.pop("ext_id", f"p{next(_ids)}"), name=name, **kw)
        self.session.add(p)
        self.session.flush()
        return p

    def channel(
        self,
        name: str,
        partner: Partner | None = None,
        pipeline: tuple[tuple[str, str], ...] | None = None,
        **kw: object,
    ) -> Channel:
        partner = partner or self.partner(f"{name} partner")
        ch = Channel(
            org_id=self.org.id,
            ext_id=kw.pop("ext_id", f"c{next(_ids)}"),
            partner_id=partner.id,
            name=name,
            **kw,
        )
        self.session.add(ch)
        self.session.flush()
        steps = pipeline or tuple((n, k.value) for n, k in DEFAULT_PIPELINE)
        for pos, (status, kind) in enumerate(steps, start=1):
            ps = PipelineStatus(
                org_id=self.org.id,
                channel_id=ch.id,
                name=status,
                name_key=status.lower(),
                kind=kind,
                position=pos,
                is_first=pos == 1,
            )
            self.session.add(ps)
            self.session.flush()
            self.statuses[(ch.id, status.lower())] = ps
        return ch

    def lead(
        self,
        channel: Channel,
        status: str = "New lead",
        created: date | datetime | str = date(2026, 1, 1),
        changed: date | datetime | str | None = None,
        deal_value: Decimal | str | int | None = None,
        **kw: object,
    ) -> Lead:
        ps = self.statuses[(channel.id, status.lower())]
        lead = Lead(
            org_id=self.org.id,
            ext_id=kw.pop("ext_id", f"l{next(_ids)}"),
            channel_id=channel.id,
            status_id=ps.id,
            status_kind=ps.kind,
            created_at=_dt(created),
            status_changed_at=_dt(changed if changed is not None else created),
            deal_value=None if deal_value is None else Decimal(str(deal_value)),
            company_name=kw.pop("company_name", "Co"),
            email=kw.pop("email", "a@b.c"),
            properties=kw.pop("properties", {}),
            **kw,
        )
        self.session.add(lead)
        self.session.flush()
        return lead

    def trigger(
        self, channel: Channel, event: str, amount: str | int, **kw: object
    ) -> RewardTrigger:
        t = RewardTrigger(
            org_id=self.org.id,
            ext_id=kw.pop("ext_id", f"t{next(_ids)}"),
            channel_id=channel.id,
            event=event,
            amount=Decimal(str(amount)),
            amount_type=kw.pop("amount_type", "fixed"),
            requires_approval=kw.pop("requires_approval", True),
            active=kw.pop("active", True),
            **kw,
        )
        self.session.add(t)
        self.session.flush()
        return t

    def report(self, channel: Channel, start: date, end: date, **kw: object) -> RewardReport:
        r = RewardReport(
            org_id=self.org.id,
            ext_id=kw.pop("ext_id", f"rr{next(_ids)}"),
            channel_id=channel.id,
            period_start=start,
            period_end=end,
            **kw,
        )
        self.session.add(r)
        self.session.flush()
        return r

    def reward(
        self,
        channel: Channel,
        amount: str | int,
        status: str = "awaiting_review",
        created: date | datetime | str = date(2026, 1, 1),
        **kw: object,
    ) -> Reward:
        r = Reward(
            org_id=self.org.id,
            ext_id=kw.pop("ext_id", f"r{next(_ids)}"),
            channel_id=channel.id,
            amount=Decimal(str(amount)),
            status=status,
            created_at=_dt(created),
            **kw,
        )
        self.session.add(r)
        self.session.flush()
        return r

    def purchase(self, lead: Lead, amount: str | int, when: date | datetime | str) -> Purchase:
        p = Purchase(
            org_id=self.org.id,
            ext_id=f"pu{next(_ids)}",
            lead_id=lead.id,
            amount=Decimal(str(amount)),
            occurred_at=_dt(when),
        )
        self.session.add(p)
        self.session.flush()
        return p
