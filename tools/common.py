"""What every tool shares: its scope from the runtime context, one short session, names and
periods resolved with actionable errors, and the number formats of docs/tools.md.

Tools never raise: a `ToolProblem` (bad input) or any other exception becomes the short
`{"error": ...}` payload of `tools.envelope.error`, so a model can correct its call.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, ParamSpec

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import BaseTool
from langgraph.errors import GraphBubbleUp
from pydantic import ValidationError
from rapidfuzz import fuzz, process
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.db import get_engine, session_scope
from domain.models import Partner, PipelineStatus
from domain.money import round_half_up
from domain.names import NamedEntity, Resolution, resolve_channel, resolve_partner
from domain.periods import Period, PeriodError, parse_period
from tools.context import KeenContext
from tools.envelope import DEFAULT_ROWS, FULL_TABLE_ROWS, dumps, error

log = logging.getLogger(__name__)

Pair = tuple[str, dict[str, Any]]
P = ParamSpec("P")

MAX_SHOWN_ROWS = 100  # a model may ask for more rows than the default, but not for everything
FULL_ROWS = FULL_TABLE_ROWS
THIS_WORDS = frozenset(
    {
        "this",
        "this channel",
        "this partnership",
        "this partner",
        "this one",
        "current",
        "current channel",
        "the current channel",
        "here",
    }
)
MISSING_WORDS = {
    "email_or_phone": "email and phone",
    "deal_value": "deal value",
    "company_name": "company name",
}


class ToolProblem(Exception):
    """Input the tool cannot answer for; `hints` (candidates, suggestions...) travel along."""

    def __init__(self, message: str, **hints: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hints = hints


def guarded(fn: Callable[P, Pair]) -> Callable[P, Pair]:
    """Turn every failure of a tool body into an error payload instead of an exception."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Pair:
        try:
            return fn(*args, **kwargs)
        except GraphBubbleUp:
            raise  # a confirmation pause (interrupt) is control flow, not a failure
        except ToolProblem as problem:
            return error(problem.message, **problem.hints)
        except Exception as exc:
            log.exception("tool %s failed", fn.__name__)
            return error(f"{fn.__name__} failed ({type(exc).__name__}); try other arguments.")

    return wrapper


def keen_tool(fn: Callable[..., Pair]) -> BaseTool:
    """A Keen tool: content and artifact, arguments described by the docstring, never raising."""
    made = tool(response_format="content_and_artifact", parse_docstring=True)(guarded(fn))
    # pydantic v2 errors only: every Keen tool schema is a v2 model
    made.handle_validation_error = validation_error  # type: ignore[assignment]
    return made


def validation_error(exc: ValidationError) -> str:
    """Arguments of the wrong type or outside an enum: a short JSON error, never a raise."""
    problems = []
    for item in exc.errors()[:3]:
        where = ".".join(str(part) for part in item.get("loc", ())) or "arguments"
        problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return dumps({"error": "Invalid arguments: " + "; ".join(problems) + "."})


# --- scope ------------------------------------------------------------------------------------


def context_of(runtime: ToolRuntime[KeenContext] | None) -> KeenContext:
    ctx = getattr(runtime, "context", None)
    if not isinstance(ctx, KeenContext):
        raise ToolProblem("No organization context: the tool must run inside the assistant.")
    return ctx


@contextmanager
def session() -> Iterator[Session]:
    """One short session per tool call, on the process-wide engine."""
    with session_scope(get_engine()) as s:
        yield s


def shown_rows(limit: int | None) -> int:
    """How many rows the content shows: the default, or what was asked within 1..100."""
    if limit is None:
        return DEFAULT_ROWS
    return max(1, min(int(limit), MAX_SHOWN_ROWS))


def _words(text: str) -> str:
    return " ".join(text.strip().lower().split())


def is_this(text: str | None) -> bool:
    return text is not None and _words(text) in THIS_WORDS


def _label(entity: NamedEntity, clash: bool) -> str:
    return f"{entity.name} ({entity.ext_id})" if clash else entity.name


def _resolved(res: Resolution, kind: str) -> NamedEntity:
    if res.match is not None:
        return res.match
    names = [c.entity.name for c in res.candidates]
    labels = [_label(c.entity, names.count(c.entity.name) > 1) for c in res.candidates]
    if res.status == "ambiguous":
        raise ToolProblem(f"'{res.query}' matches several {kind}s; which one?", candidates=labels)
    raise ToolProblem(f"No {kind} matches '{res.query}'.", suggestions=labels)


def page_channel(s: Session, ctx: KeenContext) -> NamedEntity:
    """The channel of the page the user is on ("this channel")."""
    if not ctx.channel_id:
        raise ToolProblem(
            "No channel is open on this page, so 'this channel' is unknown: name the channel."
        )
    res = resolve_channel(s, ctx.org_id, ctx.channel_id)
    if res.match is None or res.how != "ext_id":
        raise ToolProblem(f"The page's channel '{ctx.channel_id}' does not exist any more.")
    return res.match


def channel_arg(s: Session, ctx: KeenContext, text: str | None) -> NamedEntity | None:
    """A channel named by the user or model (id, name, typo), or "this" for the page's."""
    if text is None or not text.strip():
        return None
    if is_this(text):
        return page_channel(s, ctx)
    return _resolved(resolve_channel(s, ctx.org_id, text), "channel")


def partner_arg(s: Session, ctx: KeenContext, text: str | None) -> NamedEntity | None:
    """A partner by id or name; "this" is the partner of the page's channel."""
    if text is None or not text.strip():
        return None
    if is_this(text):
        channel = page_channel(s, ctx)
        res = resolve_partner(s, ctx.org_id, _partner_ext_id(s, channel))
        return _resolved(res, "partner")
    return _resolved(resolve_partner(s, ctx.org_id, text), "partner")


def _partner_ext_id(s: Session, channel: NamedEntity) -> str:
    partner = s.get(Partner, channel.partner_id)
    if partner is None:  # pragma: no cover - a channel always has its partner
        raise ToolProblem(f"Channel {channel.name} has no partner.")
    return partner.ext_id


def period_arg(ctx: KeenContext, phrase: str | None) -> Period:
    """The period a phrase names (all time when none); the error lists phrases that work."""
    try:
        return parse_period(phrase, ctx.today)
    except PeriodError as exc:
        raise ToolProblem(str(exc)) from None


def pick(text: str, options: list[str], what: str) -> str:
    """`text` matched case-insensitively to one of `options`, else an error suggesting some."""
    wanted = _words(text)
    for option in options:
        if _words(option) == wanted:
            return option
    close = process.extract(wanted, options, scorer=fuzz.WRatio, limit=3, score_cutoff=50)
    raise ToolProblem(
        f"No {what} '{text.strip()}'.", suggestions=[option for option, _, _ in close] or options
    )


def status_names(s: Session, org_id: int, channel_id: int | None = None) -> list[str]:
    """The pipeline statuses of one channel, or of every channel (each name once)."""
    stmt = select(PipelineStatus.name).distinct().where(PipelineStatus.org_id == org_id)
    if channel_id is not None:
        stmt = stmt.where(PipelineStatus.channel_id == channel_id)
    return sorted(s.scalars(stmt), key=str.lower)


def status_arg(
    s: Session, ctx: KeenContext, text: str | None, channel_id: int | None
) -> str | None:
    """A status name as the pipeline spells it; an unknown one is an error with suggestions."""
    if text is None or not text.strip():
        return None
    return pick(text, status_names(s, ctx.org_id, channel_id), "status")


def ids_like(text: str) -> str:
    """A LIKE pattern for "ids resembling this one" (suggestions when an id is unknown)."""
    core = re.sub(r"[^0-9A-Za-z]+", "%", text.strip())
    return f"%{core}%" if core.strip("%") else "%"


# --- formats ----------------------------------------------------------------------------------


def money(value: Decimal | int | None) -> str | None:
    """Two decimals, rounded half-up, as a string (always shown beside its currency)."""
    return None if value is None else f"{round_half_up(Decimal(value)):.2f}"


def money_by_currency(values: dict[str, Decimal | None]) -> dict[str, str | None]:
    return {currency: money(values[currency]) for currency in sorted(values)}


def pct(ratio: float | Fraction | Decimal | None) -> float | None:
    """A ratio as a percentage with one decimal, rounded half-up (0.125 → 12.5)."""
    if ratio is None:
        return None
    if isinstance(ratio, Fraction):
        exact = Decimal(ratio.numerator) / Decimal(ratio.denominator)
    else:
        exact = Decimal(ratio)
    return float((exact * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def pct_of(part: int | Decimal, whole: int | Decimal) -> float | None:
    """`part ÷ whole` as a percentage, computed exactly; None ("n/a") when `whole` is 0."""
    return pct(Fraction(part) / Fraction(whole)) if whole else None


def number(value: Fraction | float | int | None) -> float | int | None:
    """A count-like figure: whole numbers stay integers, others get one decimal."""
    if value is None:
        return None
    exact = Fraction(value)
    if exact.denominator == 1:
        return int(exact)
    tenths = (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return float(tenths)
