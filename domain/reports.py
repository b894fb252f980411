"""Reward reports: derived state and "needs attention", computed in one GROUP BY per query.

metrics.md: state is `needs review` if any reward awaits review, else `awaiting payment` if any
is approved, else `paid` if any is paid, else `empty` (so a rejected-only report is empty).
A report needs attention with a reward awaiting review, or with approved rewards while today
is more than `payout_overdue_days` after its period end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from domain.enums import ReportState, RewardStatus
from domain.models import Channel, Partner, Reward, RewardReport
from domain.money import ZERO, format_money
from domain.periods import Period
from domain.reward_engine import UnknownReport
from domain.rewards import RewardFilter, RewardRow, list_rewards
from domain.settings import get_settings

__all__ = ["ReportDetail", "ReportRow", "UnknownReport", "list_reports", "report_detail"]


@dataclass(frozen=True)
class ReportRow:
    ext_id: str
    channel_id: str
    channel_name: str
    partner_id: str
    partner_name: str
    currency: str
    period_start: date
    period_end: date
    flag_note: str | None
    counts: dict[RewardStatus, int]
    totals: dict[RewardStatus, Decimal]
    """Per reward status, in the channel's currency (a report belongs to one channel)."""
    state: ReportState
    needs_attention: bool
    reasons: list[str]
    days_since_period_end: int

    @property
    def reward_count(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ReportDetail:
    report: ReportRow
    rewards: list[RewardRow]
    rewards_total: int
    """How many rewards the report has (the list may be shortened by `limit`)."""


def _per_report(org_id: int, report_key: int | None = None) -> Select[Any]:
    """One row per report: conditional counts and sums per reward status.

    The rewards are counted per report and status first (an index-only pass over `org_id,
    report_id, status, amount`, no per-reward CASE), pivoted per report over those few rows,
    then joined to the report, channel and partner rows. Grouping the joined rows by every
    report column instead cost a sort of all the rewards."""
    by_status = (
        select(
            Reward.report_id.label("report_id"),
            Reward.status.label("status"),
            func.count().label("n"),
            func.sum(Reward.amount).label("amount"),
        )
        .where(
            Reward.org_id == org_id,
            Reward.report_id.is_not(None) if report_key is None else Reward.report_id == report_key,
        )
        .group_by(Reward.report_id, Reward.status)
        .subquery()
    )

    def pivot(column: Any, status: RewardStatus) -> Any:
        return func.sum(case((by_status.c.status == status.value, column), else_=None))

    sums = (
        select(
            by_status.c.report_id,
            *(pivot(by_status.c.n, s).label(f"n_{s.value}") for s in RewardStatus),
            *(pivot(by_status.c.amount, s).label(f"sum_{s.value}") for s in RewardStatus),
        )
        .group_by(by_status.c.report_id)
        .subquery()
    )
    # the select's precise row type (eleven columns and a pivot) is more than callers need
    query: Select[Any] = (
        select(  # type: ignore[assignment]
            RewardReport.ext_id.label("ext_id"),
            Channel.ext_id.label("channel_id"),
            Channel.name.label("channel_name"),
            Partner.ext_id.label("partner_id"),
            Partner.name.label("partner_name"),
            Channel.currency.label("currency"),
            RewardReport.period_start.label("period_start"),
            RewardReport.period_end.label("period_end"),
            RewardReport.flag_note.label("flag_note"),
            *(func.coalesce(sums.c[f"n_{s.value}"], 0).label(f"n_{s.value}") for s in RewardStatus),
            *(
                func.coalesce(sums.c[f"sum_{s.value}"], ZERO).label(f"sum_{s.value}")
                for s in RewardStatus
            ),
        )
        .join(Channel, Channel.id == RewardReport.channel_id)
        .join(Partner, Partner.id == Channel.partner_id)
        .outerjoin(sums, sums.c.report_id == RewardReport.id)
        .where(RewardReport.org_id == org_id)
        .where(true() if report_key is None else RewardReport.id == report_key)
    )
    return query


def _query(
    org_id: int,
    today: date,
    overdue_days: int,
    channel_ids: Sequence[str] | None,
    period: Period | None,
    report_key: int | None = None,
) -> Select[Any]:
    """The per-report rows with state and needs-attention as SQL expressions on top
    (`report_key`: only that report, summing only its rewards)."""
    inner = _per_report(org_id, report_key)
    if channel_ids:
        inner = inner.where(Channel.ext_id.in_(list(channel_ids)))
    if period is not None:
        if period.end is not None:
            inner = inner.where(RewardReport.period_start <= period.end)
        if period.start is not None:
            inner = inner.where(RewardReport.period_end >= period.start)
    sub = inner.subquery()
    n = {s: sub.c[f"n_{s.value}"] for s in RewardStatus}
    state = case(
        (n[RewardStatus.awaiting_review] > 0, ReportState.needs_review.value),
        (n[RewardStatus.approved] > 0, ReportState.awaiting_payment.value),
        (n[RewardStatus.paid] > 0, ReportState.paid.value),
        else_=ReportState.empty.value,
    ).label("state")
    # today − period_end > overdue_days  ⇔  period_end < today − overdue_days
    cutoff = today - timedelta(days=overdue_days)
    attention = or_(
        n[RewardStatus.awaiting_review] > 0,
        and_(n[RewardStatus.approved] > 0, sub.c.period_end < cutoff),
    )
    return select(sub, state, case((attention, True), else_=False).label("attention"))


def _to_row(r: Any, today: date, overdue_days: int) -> ReportRow:
    counts = {s: int(getattr(r, f"n_{s.value}")) for s in RewardStatus}
    totals = {s: Decimal(getattr(r, f"sum_{s.value}") or 0).quantize(ZERO) for s in RewardStatus}
    days = (today - r.period_end).days
    return ReportRow(
        ext_id=r.ext_id,
        channel_id=r.channel_id,
        channel_name=r.channel_name,
        partner_id=r.partner_id,
        partner_name=r.partner_name,
        currency=r.currency,
        period_start=r.period_start,
        period_end=r.period_end,
        flag_note=r.flag_note,
        counts=counts,
        totals=totals,
        state=ReportState(r.state),
        needs_attention=bool(r.attention),
        reasons=_reasons(counts, totals, r.currency, days, overdue_days),
        days_since_period_end=days,
    )


def _reasons(
    counts: dict[RewardStatus, int],
    totals: dict[RewardStatus, Decimal],
    currency: str,
    days: int,
    overdue_days: int,
) -> list[str]:
    """Why a report needs attention, with its figures (the same rule as the SQL above)."""
    reasons = []
    waiting = counts[RewardStatus.awaiting_review]
    if waiting:
        money = format_money(currency, totals[RewardStatus.awaiting_review])
        reasons.append(f"{_rewards(waiting)} awaiting review ({money})")
    approved = counts[RewardStatus.approved]
    if approved and days > overdue_days:
        money = format_money(currency, totals[RewardStatus.approved])
        reasons.append(
            f"{approved} approved {_plural(approved, 'reward')} ({money}) unpaid "
            f"{days} days after the period ended"
        )
    return reasons


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _rewards(n: int) -> str:
    return f"{n} {_plural(n, 'reward')}"


def list_reports(
    session: Session,
    org_id: int,
    today: date,
    channel_ids: Sequence[str] | None = None,
    states: Sequence[ReportState | str] | None = None,
    needs_attention: bool | None = None,
    period: Period | None = None,
    limit: int = 20,
    offset: int = 0,
    overdue_days: int | None = None,
) -> tuple[list[ReportRow], int]:
    """Reports (newest period first) with counts, totals, state and attention; and the total.

    `period` keeps the reports whose period overlaps it; `channel_ids` are channel ext ids.
    """
    overdue = get_settings().payout_overdue_days if overdue_days is None else overdue_days
    sub = _query(org_id, today, overdue, channel_ids, period).subquery()
    conds: list[ColumnElement[bool]] = []
    if states:
        conds.append(sub.c.state.in_([ReportState(s).value for s in states]))
    if needs_attention is not None:
        conds.append(sub.c.attention == needs_attention)
    # One pass: the window count is the number of matching reports before LIMIT applies.
    stmt = (
        select(sub, func.count().over().label("matching"))
        .where(*conds)
        .order_by(sub.c.period_end.desc(), sub.c.ext_id)
        .limit(limit)
        .offset(offset)
    )
    found = list(session.execute(stmt))
    if found:
        total = int(found[0].matching)
    elif offset:  # a page past the end: count without the rows
        total = session.scalar(select(func.count()).select_from(sub).where(*conds)) or 0
    else:
        total = 0
    rows = [_to_row(r, today, overdue) for r in found]
    return rows, int(total)


def report_detail(
    session: Session,
    org_id: int,
    report_ext_id: str,
    today: date,
    limit: int = 100,
    overdue_days: int | None = None,
) -> ReportDetail:
    """One report's figures and its rewards (oldest first)."""
    overdue = get_settings().payout_overdue_days if overdue_days is None else overdue_days
    key = session.scalar(
        select(RewardReport.id).where(
            RewardReport.org_id == org_id, RewardReport.ext_id == report_ext_id
        )
    )
    row = None
    if key is not None:
        sub = _query(org_id, today, overdue, None, None, key).subquery()
        row = session.execute(select(sub)).one_or_none()
    if row is None:
        raise UnknownReport(f"No reward report {report_ext_id!r} in this organization.")
    rewards, total = list_rewards(
        session, org_id, RewardFilter(report_id=report_ext_id), limit=limit, order_by="oldest"
    )
    return ReportDetail(_to_row(row, today, overdue), rewards, total)
