"""Reward tools: rewards with counts and totals per currency, why a reward is its amount, and
the reward triggers of the channels."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import rewards as reward_queries
from domain.enums import RewardStatus
from domain.models import Lead, Reward, RewardReport
from domain.money import CurrencyTotals, format_money
from domain.rewards import (
    OUTSTANDING,
    DateField,
    RewardExplanation,
    RewardFilter,
    RewardRow,
    UnknownReward,
    reward_summary,
)
from tools.channels import trigger_amount, trigger_table
from tools.common import (
    FULL_ROWS,
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
)
from tools.context import KeenContext
from tools.envelope import Table, result

RewardState = Literal["awaiting_review", "approved", "paid", "rejected", "outstanding"]
REWARD_COLUMNS = [
    "id",
    "channel",
    "partner",
    "lead",
    "amount",
    "currency",
    "status",
    "created",
    "approved",
    "paid",
    "report",
    "trigger",
]


def reward_row(r: RewardRow) -> list[Any]:
    return [
        r.ext_id,
        r.channel_name,
        r.partner_name,
        r.lead_id,
        money(r.amount),
        r.currency,
        r.status.value,
        r.created_at,
        r.approved_at,
        r.paid_at,
        r.report_id,
        r.trigger_name or r.trigger_id,
    ]


def _exists(s: Session, model: type[Lead] | type[RewardReport], org_id: int, ext_id: str) -> None:
    """An unknown lead or report id is an error (with look-alike ids), not an empty answer."""
    found = s.scalar(select(model.id).where(model.org_id == org_id, model.ext_id == ext_id))
    if found is not None:
        return
    similar = s.scalars(
        select(model.ext_id)
        .where(model.org_id == org_id, func.lower(model.ext_id).like(ids_like(ext_id).lower()))
        .order_by(model.ext_id)
        .limit(5)
    )
    what = "lead" if model is Lead else "reward report"
    raise ToolProblem(f"No {what} '{ext_id}'.", suggestions=list(similar))


@keen_tool
def list_rewards(
    status: RewardState | None = None,
    channel: str | None = None,
    partner: str | None = None,
    lead_id: str | None = None,
    report_id: str | None = None,
    period: str | None = None,
    limit: int = 20,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Rewards with their counts and totals per currency per status, and the matching rewards
    (newest first). "outstanding" (owed, approved but not paid) means status approved.

    Args:
        status: Only rewards in this status.
        channel: Channel name or id; "this" for the page's channel.
        partner: Partner name or id.
        lead_id: Only the rewards of this lead.
        report_id: Only the rewards of this reward report.
        period: When the rewards were created (paid ones: when paid), e.g. "last month".
        limit: Rows to show (the full list goes to the data).
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    statuses = list(OUTSTANDING) if status == "outstanding" else [status] if status else []
    dated_by: DateField = "paid" if status == "paid" else "created"
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        pa = partner_arg(s, ctx, partner)
        if lead_id:
            _exists(s, Lead, ctx.org_id, lead_id.strip())
        if report_id:
            _exists(s, RewardReport, ctx.org_id, report_id.strip())
        f = RewardFilter(
            statuses=statuses,
            channel_ids=[ch.ext_id] if ch else (),
            partner_ids=[pa.ext_id] if pa else (),
            lead_ids=[lead_id.strip()] if lead_id else (),
            report_id=report_id.strip() if report_id else None,
            period=None if when.is_all_time else when,
            date_field=dated_by,
        )
        f = f.with_keys(s, ctx.org_id)  # a lead's or report's rewards: looked up once
        summary = reward_summary(s, ctx.org_id, f)
        rows, total = reward_queries.list_rewards(
            s, ctx.org_id, f, limit=FULL_ROWS, total=summary.count
        )
    totals = CurrencyTotals()
    for item in summary.by_status:
        totals.merge(item.totals)
    answer: dict[str, Any] = {
        "count": summary.count,
        "totals": totals.to_json(),
        "by_status": {
            item.status.value: {"count": item.count, "totals": item.totals.to_json()}
            for item in summary.by_status
        },
    }
    if status:
        answer["status"] = RewardStatus(statuses[0]).value if status == "outstanding" else status
    if not when.is_all_time:
        answer["dated_by"] = dated_by
    table = Table("Rewards", REWARD_COLUMNS, [reward_row(r) for r in rows], total=total)
    return result(answer, [table], when.describe(), shown_rows(limit))


def _is_percentage(exp: RewardExplanation) -> bool:
    return exp.trigger is not None and exp.trigger.amount_type == "percentage"


def _rule(exp: RewardExplanation) -> str | None:
    trig = exp.trigger
    if trig is None:
        return None
    if trig.amount_type == "percentage":
        return f"{trigger_amount(trig.amount_type, trig.amount)} of the {exp.base_label}"
    return f"fixed {format_money(exp.currency, trig.amount)}"


def _when(exp: RewardExplanation) -> str:
    trig = exp.trigger
    if trig is None:
        return ""
    return {
        "lead_submitted": " when the lead was submitted",
        "status_reached": f" when the lead first reached '{trig.status}'",
        "purchase": f" for purchase {exp.purchase_id}" if exp.purchase_id else " for a purchase",
    }.get(trig.event, "")


def _sentence(exp: RewardExplanation) -> str:
    """One sentence: the amount, the rule that made it and whether they agree."""
    head = f"Reward {exp.ext_id} is {format_money(exp.currency, exp.amount)} ({exp.status.value})"
    lead = f" for lead {exp.lead.ext_id}" if exp.lead else ""
    if exp.trigger is None:
        return f"{head}{lead}: it was imported without a trigger, so no rule applies."
    name = exp.trigger.name or exp.trigger.ext_id
    base = ""
    if _is_percentage(exp) and exp.base_amount is not None:
        base = f" {format_money(exp.currency, exp.base_amount)}"
    verdict = {
        True: "it matches the rule",
        False: "it differs from the rule's "
        + format_money(exp.currency, exp.expected_amount or Decimal(0)),
        None: "there is no base to check it against",
    }[exp.matches_rule]
    return f"{head}{lead}: {_rule(exp)}{base} from trigger '{name}'{_when(exp)}; {verdict}."


def _history(exp: RewardExplanation) -> list[list[Any]]:
    events: list[tuple[datetime, str, str | None]] = [(exp.created_at, "created", None)]
    if exp.approved_at:
        events.append((exp.approved_at, "approved", None))
    if exp.paid_at:
        ref = f" (reference {exp.payment_reference})" if exp.payment_reference else ""
        events.append((exp.paid_at, f"paid{ref}", None))
    if exp.rejected_at:
        why = f": {exp.reject_reason}" if exp.reject_reason else ""
        events.append((exp.rejected_at, f"rejected{why}", None))
    for item in exp.history:
        before = (item.before or {}).get("status")
        after = (item.after or {}).get("status")
        move = f" {before} → {after}" if before and after else ""
        events.append((item.at, f"{item.action}{move}", f"{item.actor} ({item.surface})"))
    events.sort(key=lambda e: e[0])
    return [[at, event, by] for at, event, by in events]


@keen_tool
def explain_reward(reward_id: str, *, runtime: ToolRuntime[KeenContext]) -> Pair:
    """Why a reward is this amount: its trigger and rule, the base amount (deal value or
    purchase), the amount the rule computes, whether they match, and its approval history.

    Args:
        reward_id: The reward's id, e.g. "rw-0042".
    """
    ctx = context_of(runtime)
    wanted = reward_id.strip()
    with session() as s:
        try:
            exp = reward_queries.explain_reward(s, ctx.org_id, wanted)
        except UnknownReward:
            similar = s.scalars(
                select(Reward.ext_id)
                .where(
                    Reward.org_id == ctx.org_id,
                    func.lower(Reward.ext_id).like(ids_like(wanted).lower()),
                )
                .order_by(Reward.ext_id)
                .limit(5)
            )
            raise ToolProblem(f"No reward '{wanted}'.", suggestions=list(similar)) from None
    answer = {
        "reward": exp.ext_id,
        "amount": money(exp.amount),
        "currency": exp.currency,
        "status": exp.status.value,
        "trigger": (exp.trigger.name or exp.trigger.ext_id) if exp.trigger else None,
        "rule": _rule(exp),
        "base_amount": money(exp.base_amount) if _is_percentage(exp) else None,
        "computed_amount": money(exp.expected_amount),
        "matches_rule": exp.matches_rule,
        "lead": exp.lead.ext_id if exp.lead else None,
        "report": exp.report_id,
        "explanation": _sentence(exp),
        "details": exp.lines,
    }
    table = Table("History", ["at", "event", "by"], _history(exp))
    return result(answer, [table])


@keen_tool
def list_reward_triggers(channel: str | None = None, *, runtime: ToolRuntime[KeenContext]) -> Pair:
    """The reward triggers of one channel or of every channel: event, status, amount type,
    amount, whether approval is needed, and whether active.

    Args:
        channel: Channel name or id; "this" for the page's channel; omit for all channels.
    """
    ctx = context_of(runtime)
    with session() as s:
        ch = channel_arg(s, ctx, channel)
        table = trigger_table(s, ctx.org_id, ch.id if ch else None)
    active_col = table.columns.index("active")
    answer: dict[str, Any] = {
        "count": len(table.rows),
        "active": sum(1 for row in table.rows if row[active_col]),
    }
    if ch:
        answer["channel"] = ch.name
    return result(answer, [table])
