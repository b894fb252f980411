"""Slots: what a question names besides its intent — channels, partners, period, states..."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from agent.offline import vocabulary as vocab
from agent.offline.catalog import Catalog
from domain.periods import NUMBER_WORDS, Period, PeriodError, find_period

TOKEN = re.compile(r"[A-Za-z0-9][\w-]*[A-Za-z0-9]|\d")
QUARTER_OR_YEAR = re.compile(
    r"^(?:q[1-4]|h[12]|fy\d*|\d{4}-\d{2}(?:-\d{2})?|\d+(?:st|nd|rd|th|k|m)?)$", re.IGNORECASE
)
NUMERIC_ID = re.compile(r"\b(?:lead|reward|report)\s+#?(\d{1,10})\b", re.IGNORECASE)


@dataclass
class Slots:
    channels: list[tuple[str, str]] = field(default_factory=list)  # (ext_id, name)
    partners: list[tuple[str, str]] = field(default_factory=list)
    ambiguous: list[tuple[str, list[str]]] = field(default_factory=list)  # (text, candidates)
    this_channel: bool = False
    period: Period | None = None
    period_error: str | None = None
    statuses: list[str] = field(default_factory=list)
    status_kind: str | None = None
    reward_status: str | None = None
    metric: str | None = None
    order: str | None = None  # "desc" | "asc"
    top: int | None = None
    group_by: str | None = None  # "channel" | "partner"
    pattern: str | None = None
    flags: list[str] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)
    owner: str | None = None
    source: str | None = None
    custom_property: tuple[str, str] | None = None
    stuck_days: int | None = None
    lead_sort: str | None = None
    company: str | None = None  # "leads from Acme Corp": a name that is no channel or partner

    @property
    def names_something(self) -> bool:
        return bool(
            self.channels
            or self.partners
            or self.this_channel
            or self.period
            or self.statuses
            or self.status_kind
            or self.reward_status
            or self.metric
            or self.flags
            or self.record_ids
            or self.owner
            or self.custom_property
            or self.source
            or self.pattern
        )


def _top_n(text: str) -> int | None:
    m = vocab.TOP_N.search(text)
    if m:
        return int(m.group(1) or m.group(2))
    m = re.search(r"\b(?:top|best|worst|bottom)\s+(" + "|".join(NUMBER_WORDS) + r")\b", text)
    return NUMBER_WORDS[m.group(1)] if m else None


def _order(text: str) -> str | None:
    asc, desc = vocab.ORDER_ASC.search(text), vocab.ORDER_DESC.search(text)
    if asc and (not desc or asc.start() < desc.start()):
        return "asc"
    return "desc" if desc else None


def _record_ids(question: str, period_span: tuple[int, int] | None) -> list[str]:
    """Tokens that look like record ids (letters and digits, often hyphenated): `lead-0303`,
    `rw-12`, `RR-3`; the caller checks which of them exist."""
    ids = []
    for m in TOKEN.finditer(question):
        token = m.group(0)
        if not re.search(r"\d", token) or QUARTER_OR_YEAR.match(token):
            continue
        if period_span and period_span[0] <= m.start() < period_span[1]:
            continue
        ids.append(token)
    ids += [m.group(1) for m in NUMERIC_ID.finditer(question)]
    return list(dict.fromkeys(ids))


def extract(question: str, today: date, catalog: Catalog) -> Slots:
    text = question.lower()
    slots = Slots()
    try:
        found = find_period(question, today)
    except PeriodError as exc:
        found, slots.period_error = None, str(exc)
    span = None
    if found:
        slots.period, span = found
    slots.this_channel = bool(vocab.THIS_CHANNEL.search(text))
    masked = (
        question
        if span is None
        else question[: span[0]] + " " * (span[1] - span[0]) + question[span[1] :]
    )
    mentions = catalog.mentions(masked)
    slots.channels = mentions.channels
    slots.partners = mentions.partners
    slots.ambiguous = mentions.ambiguous
    slots.statuses = catalog.statuses_in(masked)
    slots.owner = catalog.owner_in(masked)
    slots.source = catalog.source_in(masked) if re.search(r"\bleads?\b", masked, re.I) else None
    slots.custom_property = catalog.property_in(masked)
    slots.reward_status = vocab.first_match(vocab.REWARD_STATES, text)
    slots.metric = vocab.first_match(vocab.METRICS, text)
    slots.pattern = vocab.first_match(vocab.PATTERNS, text)
    slots.flags = vocab.all_matches(vocab.FLAGS, text)
    kind = vocab.first_match(vocab.STATUS_KINDS, text)
    slots.status_kind = kind
    slots.order = _order(text)
    slots.top = _top_n(text)
    if vocab.PARTNER_WORDS.search(text) and not vocab.CHANNEL_WORDS.search(text):
        slots.group_by = "partner"
    elif vocab.CHANNEL_WORDS.search(text):
        slots.group_by = "channel"
    slots.record_ids = _record_ids(question, span)
    slots.stuck_days = _stuck_days(text)
    if slots.stuck_days and "stuck" not in slots.flags:
        slots.flags.append("stuck")
    slots.lead_sort = vocab.first_match(vocab.LEAD_SORT, text)
    slots.company = _company(masked, slots, catalog)
    return slots


COMPANY = re.compile(
    r"\b(?:from|at|for|named|called|with) ((?:[A-Z][\w&.'-]*)(?: [A-Z][\w&.'-]*){0,3})"
)
NOT_A_COMPANY = frozenset(
    (
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december", "monday", "tuesday", "wednesday"),
        *("thursday", "friday", "saturday", "sunday", "q1", "q2", "q3", "q4", "h1", "h2"),
        *("i", "we", "us", "this", "last", "next", "the", "keen"),
    )
)


def _company(question: str, slots: Slots, catalog: Catalog) -> str | None:
    """A capitalised name after "from", "at", "named"... when it is nothing else we know."""
    if slots.channels or slots.partners or slots.record_ids or slots.ambiguous:
        return None
    match = COMPANY.search(question)
    if match is None:
        return None
    name = match.group(1).strip(" .,")
    known = {s.lower() for s in catalog.statuses} | {s.lower() for s in catalog.sources}
    if name.split()[0].lower() in NOT_A_COMPANY or name.lower() in known:
        return None
    if slots.custom_property and slots.custom_property[1].lower() == name.lower():
        return None  # "leads from Germany": a value of a custom property (country)
    return name


def _stuck_days(text: str) -> int | None:
    m = vocab.STUCK_DAYS.search(text)
    if not m:
        return None
    per = {"d": 1, "w": 7, "m": 30}[m.group(2)[0].lower()]
    return int(m.group(1)) * per
