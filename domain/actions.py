"""The changes staff can make from a conversation, as one vocabulary for every surface.

Each action has typed arguments, a dry run (`preview`: the change made and rolled back, so the
confirmation shows exactly what the real run will do) and a real run (`perform`: audited, once
per idempotency key). Roles are checked here too (domain.permissions), whoever calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain import audit, lead_events, reward_engine
from domain.db import write_lock
from domain.idempotency import By, run_once
from domain.models import Channel, Lead, Partner, Reward
from domain.money import CurrencyTotals, format_money
from domain.permissions import check_allowed

MAX_RECORDS = 500  # one confirmation lists every record it changes; more needs narrowing


class ActionInvalid(ValueError):
    """The action cannot run as asked (unknown record, status or amount); says why."""


# --- arguments -------------------------------------------------------------------------------


class RewardIds(BaseModel):
    reward_ids: list[str] = Field(min_length=1, max_length=MAX_RECORDS)

    @field_validator("reward_ids")
    @classmethod
    def _unique(cls, ids: list[str]) -> list[str]:
        cleaned = [i.strip() for i in ids if i and i.strip()]
        if not cleaned:
            raise ValueError("give at least one reward id")
        return list(dict.fromkeys(cleaned))


class ApproveArgs(RewardIds):
    pass


class RejectArgs(RewardIds):
    reason: str = Field(min_length=1, max_length=500)


class PayArgs(RewardIds):
    payment_date: date | None = None
    reference: str | None = Field(default=None, max_length=100)


class MoveLeadArgs(BaseModel):
    lead_id: str = Field(min_length=1, max_length=100)
    status: str = Field(min_length=1, max_length=100)


class PurchaseArgs(BaseModel):
    lead_id: str = Field(min_length=1, max_length=100)
    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    purchase_date: date | None = None


class FlagArgs(BaseModel):
    report_id: str = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=1000)


ARGS: dict[str, type[BaseModel]] = {
    "approve_rewards": ApproveArgs,
    "reject_rewards": RejectArgs,
    "mark_rewards_paid": PayArgs,
    "move_lead": MoveLeadArgs,
    "record_purchase": PurchaseArgs,
    "flag_reward_report": FlagArgs,
}


# --- outcome ---------------------------------------------------------------------------------


@dataclass
class Change:
    """One record that changes (or is created): from-state → to-state, with its amount."""

    record: Literal["reward", "lead", "purchase", "reward_report"]
    id: str
    from_state: str | None
    to_state: str
    amount: str | None = None  # money as a fixed-point string, with `currency`
    currency: str | None = None
    about: str = ""  # channel · partner · lead, so a reviewer recognises the record


@dataclass
class Outcome:
    """What an action did, or would do: changed and created records, refusals, totals."""

    kind: str
    changes: list[Change] = field(default_factory=list)
    created: list[Change] = field(default_factory=list)  # rewards the event fires
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (id, why left alone)
    replayed: bool = False

    @property
    def totals(self) -> CurrencyTotals:
        """Money of the changed rewards (or of the rewards an event creates), per currency."""
        money = [c for c in (*self.changes, *self.created) if c.record == "reward"]
        return CurrencyTotals((c.currency or "", Decimal(c.amount or 0)) for c in money)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "changes": [asdict(c) for c in self.changes],
            "created": [asdict(c) for c in self.created],
            "skipped": [list(s) for s in self.skipped],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], replayed: bool = False) -> Outcome:
        return cls(
            kind=data["kind"],
            changes=[Change(**c) for c in data.get("changes", [])],
            created=[Change(**c) for c in data.get("created", [])],
            skipped=[(str(a), str(b)) for a, b in data.get("skipped", [])],
            replayed=replayed,
        )


# --- running ---------------------------------------------------------------------------------


def parse_args(kind: str, raw: dict[str, Any]) -> BaseModel:
    """Validated arguments for `kind` (raises pydantic.ValidationError)."""
    if kind not in ARGS:
        raise ActionInvalid(f"Unknown action {kind!r}.")
    return ARGS[kind].model_validate(raw)


def preview(engine: Engine, org_id: int, kind: str, args: BaseModel, by: By, role: str) -> Outcome:
    """The action's exact effect, made in a transaction that is then rolled back."""
    check_allowed(role, kind)
    with Session(engine) as session:
        try:
            write_lock(session)
            outcome = _run(session, org_id, kind, args, by, audit.utcnow())
            for made in (*outcome.created, *outcome.changes):
                if made.from_state is None:
                    made.id = NEW_ID  # a new record: the real run gives it its id
            return outcome
        finally:
            session.rollback()


def perform(
    session: Session,
    org_id: int,
    kind: str,
    args: BaseModel,
    by: By,
    role: str,
    idempotency_key: str | None = None,
) -> Outcome:
    """Make the change (audited), once per idempotency key; the caller commits."""
    check_allowed(role, kind)
    write_lock(session)
    at = audit.utcnow()
    data, replayed = run_once(
        session,
        org_id,
        idempotency_key,
        f"action.{kind}",
        "action",
        by,
        at,
        lambda: _run(session, org_id, kind, args, by, at).to_json(),
    )
    return Outcome.from_json(data, replayed=replayed)


def _run(
    session: Session, org_id: int, kind: str, args: BaseModel, by: By, at: datetime
) -> Outcome:
    try:
        return RUNNERS[kind](session, org_id, args, by, at)
    except (lead_events.UnknownLead, reward_engine.UnknownReport) as exc:
        raise ActionInvalid(str(exc)) from exc
    except lead_events.InvalidLeadEvent as exc:
        raise ActionInvalid(str(exc)) from exc


# --- the actions -----------------------------------------------------------------------------


def _reward_context(session: Session, org_id: int, ids: list[str]) -> dict[str, Change]:
    """Each reward as it is now, before the move (status, amount, where it comes from)."""
    stmt = (
        select(
            Reward.ext_id,
            Reward.status,
            Reward.amount,
            Channel.currency,
            Channel.name,
            Partner.name,
            Lead.ext_id,
        )
        .join(Channel, Channel.id == Reward.channel_id)
        .outerjoin(Partner, Partner.id == Channel.partner_id)
        .outerjoin(Lead, Lead.id == Reward.lead_id)
        .where(Reward.org_id == org_id, Reward.ext_id.in_(ids))
    )
    found = {}
    for ext_id, status, amount, currency, channel, partner, lead in session.execute(stmt):
        about = " · ".join(x for x in (channel, partner, f"lead {lead}" if lead else None) if x)
        found[ext_id] = Change("reward", ext_id, status, status, f"{amount:.2f}", currency, about)
    return found


def _reward_move(
    kind: str,
    move: Callable[..., reward_engine.MoveResult],
    extra: Callable[[Any], dict[str, Any]],
) -> Callable[[Session, int, Any, By, datetime], Outcome]:
    def run(session: Session, org_id: int, args: Any, by: By, at: datetime) -> Outcome:
        before = _reward_context(session, org_id, args.reward_ids)
        result = move(
            session,
            org_id,
            args.reward_ids,
            **extra(args),
            actor=by.actor,
            surface=by.surface,
            thread_id=by.thread_id,
            now=at,
        )
        changes = []
        for ext_id in result.changed:
            change = before[ext_id]
            change.to_state = result.to_status.value
            changes.append(change)
        skipped = [(s.ext_id, s.reason) for s in result.skipped]
        return Outcome(kind, changes, [], skipped)

    return run


def _created(session: Session, rewards: list[Reward], currency: str) -> list[Change]:
    return [
        Change("reward", r.ext_id, None, r.status, f"{r.amount:.2f}", currency, "new reward")
        for r in rewards
    ]


def _move_lead(session: Session, org_id: int, args: Any, by: By, at: datetime) -> Outcome:
    result = lead_events.move_lead(
        session, org_id, args.lead_id, args.status, by.actor, by.surface, by.thread_id, at
    )
    if not result.changed:
        return Outcome("move_lead", skipped=[(args.lead_id, f"already in {result.to_status}")])
    currency = session.get_one(Channel, result.lead.channel_id).currency
    change = Change("lead", result.lead.ext_id, result.from_status, result.to_status)
    return Outcome("move_lead", [change], _created(session, result.rewards, currency))


def _record_purchase(session: Session, org_id: int, args: Any, by: By, at: datetime) -> Outcome:
    result = lead_events.record_purchase(
        session,
        org_id,
        args.lead_id,
        args.amount,
        args.purchase_date or at.date(),
        actor=by.actor,
        surface=by.surface,
        thread_id=by.thread_id,
        now=at,
    )
    currency = session.get_one(Channel, result.lead.channel_id).currency
    purchase = Change(
        "purchase",
        result.purchase.ext_id,
        None,
        "recorded",
        f"{result.purchase.amount:.2f}",
        currency,
        f"lead {result.lead.ext_id}",
    )
    return Outcome("record_purchase", [purchase], _created(session, result.rewards, currency))


def _flag_report(session: Session, org_id: int, args: Any, by: By, at: datetime) -> Outcome:
    report = reward_engine.find_report(session, org_id, args.report_id)
    before = report.flag_note
    reward_engine.flag_report(
        session, org_id, args.report_id, args.note, by.actor, by.surface, by.thread_id, at
    )
    flagged = f"flagged: {args.note}"
    change = Change("reward_report", report.ext_id, before or "not flagged", flagged)
    return Outcome("flag_reward_report", [change])


RUNNERS: dict[str, Callable[[Session, int, Any, By, datetime], Outcome]] = {
    "approve_rewards": _reward_move("approve_rewards", reward_engine.approve_rewards, lambda a: {}),
    "reject_rewards": _reward_move(
        "reject_rewards", reward_engine.reject_rewards, lambda a: {"reason": a.reason}
    ),
    "mark_rewards_paid": _reward_move(
        "mark_rewards_paid",
        reward_engine.mark_rewards_paid,
        lambda a: {"payment_date": a.payment_date, "reference": a.reference},
    ),
    "move_lead": _move_lead,
    "record_purchase": _record_purchase,
    "flag_reward_report": _flag_report,
}


# --- words -----------------------------------------------------------------------------------

VERBS = {  # (confirmation, report); {n} is the number of rewards
    "approve_rewards": ("Approve {n}", "Approved {n}"),
    "reject_rewards": ("Reject {n}", "Rejected {n}"),
    "mark_rewards_paid": ("Mark {n} paid", "Marked {n} paid"),
    "move_lead": ("Move lead", "Moved lead"),
    "record_purchase": ("Record purchase", "Recorded purchase"),
    "flag_reward_report": ("Flag report", "Flagged report"),
}
NEW_ID = "(new)"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _line(c: Change) -> str:
    money = f" · {format_money(c.currency or '', Decimal(c.amount))}" if c.amount else ""
    about = f" · {c.about}" if c.about else ""
    move = f"{c.from_state} → {c.to_state}" if c.from_state else c.to_state
    return f"- {c.id}{about}{money}: {move}"


def describe(outcome: Outcome, args: BaseModel, done: bool) -> str:
    """The confirmation (done=False) or the report of what was done, in plain markdown."""
    reasons = "; ".join(f"{i} ({why})" for i, why in outcome.skipped)
    if not outcome.changes:
        return f"**Nothing to change**: {reasons}." if reasons else "**Nothing to change.**"
    verb = VERBS[outcome.kind][1 if done else 0]
    rewards = [c for c in outcome.changes if c.record == "reward"]
    if rewards:
        what = verb.format(n=_plural(len(rewards), "reward"))
        head = f"**{what}** ({outcome.totals.describe()} in all):"
    else:
        head = f"**{verb}**:"
    blocks = ["\n".join([head, *(_line(c) for c in outcome.changes)])]
    extra = _details(args)
    if extra:
        blocks.append(extra)
    if outcome.created:
        will = "Created" if done else "This creates"
        created = [f"{will} {_plural(len(outcome.created), 'reward')}:"]
        blocks.append("\n".join(created + [_line(c) for c in outcome.created]))
    if reasons:
        blocks.append(f"{'Left alone' if done else 'Cannot change'}: {reasons}.")
    return "\n\n".join(blocks)


def _details(args: BaseModel) -> str:
    if isinstance(args, RejectArgs):
        return f"Reason: {args.reason}"
    if isinstance(args, PayArgs):
        paid = args.payment_date.isoformat() if args.payment_date else "today"
        ref = f", reference {args.reference}" if args.reference else ""
        return f"Payment date: {paid}{ref}"
    return ""
