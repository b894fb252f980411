"""The reward-report tool: reports with derived state, totals and why one needs attention."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from langchain.tools import ToolRuntime
from sqlalchemy.orm import Session

from domain.enums import ReportState, RewardStatus
from domain.periods import Period
from domain.reports import ReportRow, UnknownReport, list_reports, report_detail
from tools.common import (
    FULL_ROWS,
    Pair,
    ToolProblem,
    channel_arg,
    context_of,
    keen_tool,
    money,
    period_arg,
    session,
    shown_rows,
)
from tools.context import KeenContext
from tools.envelope import Table, result
from tools.rewards import REWARD_COLUMNS, reward_row

StateName = Literal["needs review", "awaiting payment", "paid", "empty"]
REPORT_COLUMNS = [
    "id",
    "channel",
    "period_start",
    "period_end",
    "state",
    "needs_attention",
    "reasons",
    "awaiting_review",
    "approved",
    "paid",
    "rejected",
    "total",
    "currency",
]


def _payable(row: ReportRow) -> Decimal:
    """What the report is worth: every reward but the rejected ones."""
    return sum(
        (amount for status, amount in row.totals.items() if status != RewardStatus.rejected),
        Decimal(0),
    )


def _report_row(row: ReportRow) -> list[Any]:
    return [
        row.ext_id,
        row.channel_name,
        row.period_start,
        row.period_end,
        row.state.value,
        row.needs_attention,
        row.reasons,
        *(money(row.totals[st]) for st in RewardStatus),
        money(_payable(row)),
        row.currency,
    ]


def _one_report(s: Session, org_id: int, report_id: str, today: Any) -> Pair:
    try:
        detail = report_detail(s, org_id, report_id, today, limit=FULL_ROWS)
    except UnknownReport:
        known = [r.ext_id for r in list_reports(s, org_id, today, limit=5)[0]]
        raise ToolProblem(f"No reward report '{report_id}'.", suggestions=known) from None
    row = detail.report
    answer = {
        "report": row.ext_id,
        "channel": row.channel_name,
        "state": row.state.value,
        "needs_attention": row.needs_attention,
        "reasons": row.reasons,
        "totals": {row.currency: money(_payable(row))},
        "by_status": {
            st.value: {"count": row.counts[st], "amount": money(row.totals[st])}
            for st in RewardStatus
        },
        "flag_note": row.flag_note,
    }
    table = Table(
        f"Rewards in {row.ext_id}",
        REWARD_COLUMNS,
        [reward_row(r) for r in detail.rewards],
        total=detail.rewards_total,
    )
    period = Period(row.period_start, row.period_end, "report period")
    return result(answer, [table], period.describe())


def _state_counts(
    s: Session,
    org_id: int,
    today: Any,
    channel_ids: list[str] | None,
    period: Period | None,
    states: list[str] | None,
    needs_attention: bool | None,
) -> tuple[dict[str, int], int]:
    """Counts per state and how many need attention, when there are too many rows to count."""
    counts = {}
    for state in states or [st.value for st in ReportState]:
        _, n = list_reports(
            s, org_id, today, channel_ids, [state], needs_attention, period, limit=0
        )
        counts[state] = n
    attention = 0
    if needs_attention is not False:
        _, attention = list_reports(s, org_id, today, channel_ids, states, True, period, limit=0)
    return counts, attention


@keen_tool
def list_reward_reports(
    report_id: str | None = None,
    needs_attention: bool | None = None,
    state: StateName | None = None,
    channel: str | None = None,
    period: str | None = None,
    limit: int = 20,
    *,
    runtime: ToolRuntime[KeenContext],
) -> Pair:
    """Reward reports (newest first) with their derived state, amounts per reward status, and
    whether and why each needs attention; with report_id, that report and its rewards.

    Args:
        report_id: One report's id, e.g. "rpt-delta-2026-08".
        needs_attention: True for reports needing attention (rewards awaiting review, or
            approved rewards unpaid more than 30 days after the period end).
        state: Only reports in this state.
        channel: Channel name or id; "this" for the page's channel.
        period: Reports whose period overlaps this one, e.g. "Q3 2026"; omit for all time.
        limit: Rows to show (the full list goes to the data).
    """
    ctx = context_of(runtime)
    when = period_arg(ctx, period)
    with session() as s:
        if report_id and report_id.strip():
            return _one_report(s, ctx.org_id, report_id.strip(), ctx.today)
        ch = channel_arg(s, ctx, channel)
        channel_ids = [ch.ext_id] if ch else None
        scope = None if when.is_all_time else when
        states: list[str] | None = [state] if state else None
        rows, total = list_reports(
            s, ctx.org_id, ctx.today, channel_ids, states, needs_attention, scope, limit=FULL_ROWS
        )
        if total <= len(rows):
            counts: dict[str, int] = {}
            for row in rows:
                counts[row.state.value] = counts.get(row.state.value, 0) + 1
            attention = sum(1 for row in rows if row.needs_attention)
        else:
            counts, attention = _state_counts(
                s, ctx.org_id, ctx.today, channel_ids, scope, states, needs_attention
            )
    answer = {
        "count": total,
        "needs_attention": attention,
        "states": {st.value: counts[st.value] for st in ReportState if counts.get(st.value)},
    }
    table = Table("Reward reports", REPORT_COLUMNS, [_report_row(r) for r in rows], total=total)
    return result(answer, [table], when.describe(), shown_rows(limit))
