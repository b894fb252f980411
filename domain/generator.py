"""Scale-data generator: writes a realistic dataset in the import contract's CSV format.

The contract is ``shared/spec/dataset-format.md`` plus Keen's optional files and columns
(``docs/dataset-extensions.md``). The output is meant for load tests and demos, so it has to be
plausible (skewed channel sizes, stuck leads, overdue payouts, missing information, competitor
mentions) and cheap to make: a million leads are written in one streaming pass with precomputed
choice tables and timestamp strings, holding only one chunk of finished lines in memory.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so a seed and a ``today``
always give byte-identical files.
"""

from __future__ import annotations

import calendar
import csv
import functools
import io
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

Progress = Callable[[str, int], None]


def _words(text: str) -> tuple[str, ...]:
    """Word lists written as one string, so they stay compact under ruff format."""
    return tuple(text.split())


MONTHS_BACK = 18
PROGRESS_EVERY = 50_000
_CHUNK = 10_000  # leads between progress checks
_MIN_PER_DAY = 1440
_TABLE = 200  # resolution of the status choice tables
_BUFFER = 1 << 20

# ---------------------------------------------------------------------------------------------
# Files and columns (contract order first, then Keen's optional columns).
# ---------------------------------------------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "users.csv": _words("id email name role"),
    "partners.csv": _words("id name email tier notes"),
    "channels.csv": _words("id partner_id name status currency created_at description"),
    "pipeline.csv": _words("channel_id status kind position"),
    "reward_triggers.csv": _words(
        "id channel_id name event status amount_type amount requires_approval active"
    ),
    "reward_reports.csv": _words("id channel_id period_start period_end flag_note"),
    "integrations.csv": _words("id channel_id kind state last_sync_at last_error"),
    "lead_form_fields.csv": _words("channel_id field label required position"),
    "leads.csv": _words(
        "id channel_id contact_name company_name email phone source notes "
        "deal_value status created_at status_changed_at owner industry "
        "company_size country budget"
    ),
    "lead_status_history.csv": _words("lead_id from_status to_status changed_at"),
    "purchases.csv": _words("id lead_id amount occurred_at"),
    "rewards.csv": _words(
        "id channel_id lead_id trigger_id report_id amount status created_at "
        "approved_at paid_at rejected_at payment_reference reject_reason"
    ),
}

# ---------------------------------------------------------------------------------------------
# Word lists: small, so names repeat the way real CRM data does.
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = _words(
    "Anna Ben Carlos Dana Elena Farid Grace Hiro Ines Jonas Kara Liam Maya Noah Olga "
    "Pedro Quinn Rosa Sam Tara Umar Vera Will Xin Yara Zoe Aaron Bianca Chloe David Emma "
    "Felix Gina Hugo Ivy Jack Lena Marco Nina Oscar Priya Ravi Sofia Tom Lucas Mia Leon "
    "Amelie Mateo Sara"
)
LAST_NAMES = _words(
    "Smith Garcia Müller Johnson Brown Rossi Martin Kim Nguyen Silva Novak Jensen Dubois "
    "Schmidt Lopez Tanaka Okafor Patel Wilson Moore Taylor Anderson Thomas Jackson White "
    "Harris Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams Nelson Hill "
    "Campbell O'Brien Murphy Fischer Weber Costa Moreau Bakker Visser Fernández Kowalski"
)
COMPANY_PREFIX = _words(
    "North Blue Silver Bright Green Red Iron Clear Swift Summit Harbor Pine Stone Golden "
    "Cedar River Maple Oak Eagle Atlas Nova Apex Vertex Lumen Orbit Pioneer Crest Falcon "
    "Bay Aspen"
)
COMPANY_CORE = _words(
    "field wave point bridge light works line gate path stack forge leaf view peak port "
    "ridge spring wind star rock"
)
# suffix -> industry ("" = any industry)
COMPANY_SUFFIX = (
    ("Labs", "Software"),
    ("Logistics", "Logistics"),
    ("Health", "Healthcare"),
    ("Systems", "Software"),
    ("Analytics", "Software"),
    ("Foods", "Retail"),
    ("Retail", "Retail"),
    ("Capital", "Financial services"),
    ("Media", "Marketing"),
    ("Software", "Software"),
    ("Energy", "Manufacturing"),
    ("Robotics", "Manufacturing"),
    ("Studio", "Marketing"),
    ("Consulting", ""),
    ("Manufacturing", "Manufacturing"),
    ("Group", ""),
    ("Inc.", ""),
    ("Ltd", ""),
    ("Academy", "Education"),
    ("Hotels", "Hospitality"),
)
INDUSTRIES = (
    "Software",
    "Healthcare",
    "Retail",
    "Manufacturing",
    "Financial services",
    "Education",
    "Logistics",
    "Real estate",
    "Hospitality",
    "Marketing",
)
COMPANY_SIZES = (("1-10", 20), ("11-50", 30), ("51-200", 25), ("201-1000", 15), ("1000+", 10))
# name, weight, top-level domain, phone prefixes (with area codes)
COUNTRIES = (
    ("United States", 45, ".com", ("+1 415 ", "+1 212 ", "+1 512 ", "+1 312 ")),
    ("United Kingdom", 15, ".co.uk", ("+44 20 ", "+44 161 ")),
    ("Germany", 10, ".de", ("+49 30 ", "+49 89 ")),
    ("Canada", 8, ".ca", ("+1 416 ", "+1 604 ")),
    ("France", 6, ".fr", ("+33 1 ",)),
    ("Australia", 5, ".com.au", ("+61 2 ", "+61 3 ")),
    ("Netherlands", 4, ".nl", ("+31 20 ",)),
    ("Spain", 4, ".es", ("+34 91 ",)),
    ("Ireland", 3, ".ie", ("+353 1 ",)),
)
PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
SOURCES = (
    "Website form",
    "Referral",
    "Webinar",
    "Event",
    "Partner portal",
    "Email campaign",
    "LinkedIn",
    "Cold outreach",
    "Marketplace",
    "Newsletter",
)
COMPETITORS = _words("Referly PartnerLoop Allyhub Crossway AffiliMax")
PRODUCTS = ("Starter plan", "Growth plan", "Enterprise plan", "analytics add-on", "API access")
NOTE_TEMPLATES = (
    "Interested in the {prod}; asked for a pricing sheet.",
    "Currently using {comp}, contract renews in Q{q}.",
    "Evaluating us against {comp}. Wants a demo for {n} users.",
    "Asked about SSO and data export, team of {n}.",
    "Budget approved for this quarter, decision maker is the COO.",
    "Met at the partner event, follow up next week.",
    'Said "too expensive" compared to {comp}, may revisit in Q{q}.',
    "Needs a CRM integration; {comp} did not have one.",
    "No answer to two follow-ups.",
    "Referred by an existing customer, high intent.",
    "Requested a call back after the holidays.",
    "Pilot with {n} seats, wants a discount for annual billing of the {prod}.",
    "Switching from {comp}: migration timeline matters.\nSend the onboarding guide.",
    "Wrong contact, forwarded to their head of operations.",
)
PARTNER_SUFFIX = _words(
    "Partners Agency Consulting Digital Advisors Group Media Solutions Collective Network"
)
PARTNER_NOTES = (
    "Strong in the DACH region, prefers quarterly payouts.",
    "Main contact is the head of alliances; very responsive.",
    "Asked twice about higher commission for enterprise deals.",
    "Co-marketing agreement renewed this year.",
    "Sends many leads but few close; discussed lead quality in the last QBR.",
    "Invoices in EUR through their Dublin entity.",
    "New partner, onboarding call done.",
)
CHANNEL_KINDS = (
    ("Referral program", "Referral"),
    ("Affiliate links", "Website form"),
    ("Webinar series", "Webinar"),
    ("Co-marketing", "Email campaign"),
    ("Reseller deals", "Partner portal"),
    ("Events", "Event"),
    ("Newsletter sponsorship", "Newsletter"),
    ("Marketplace listing", "Marketplace"),
    ("Agency referrals", "Referral"),
)
INTEGRATION_KINDS = ("hubspot", "salesforce", "pipedrive", "webhook", "zapier")
INTEGRATION_ERRORS = (
    "401 Unauthorized: token expired",
    "Rate limit exceeded (429), retrying later",
    "Field 'deal_value' not mapped",
    "Webhook endpoint returned 500",
)
REJECT_REASONS = (
    "Duplicate lead",
    "Lead already in CRM before referral",
    "Customer churned within 30 days",
    "Outside partner territory",
    "Self-referral",
)
FLAG_NOTES = (
    "Partner asked for clarification on two rewards.",
    "Amounts look higher than the agreed rate, check trigger settings.",
    "Waiting for the partner's invoice.",
)
FORM_FIELDS = (
    ("contact_name", "Full name"),
    ("email", "Work email"),
    ("phone", "Phone number"),
    ("company_name", "Company"),
    ("industry", "Industry"),
    ("company_size", "Company size"),
    ("country", "Country"),
    ("budget", "Budget"),
    ("notes", "Anything else we should know?"),
)
USER_ROLES = ("admin", "manager", "manager", "manager", "finance", "viewer")

# Pipelines: (status, kind). The default one is the contract's.
DEFAULT_PIPELINE = (
    ("New lead", "open"),
    ("In progress", "open"),
    ("Meeting booked", "open"),
    ("Won", "won"),
    ("Lost", "lost"),
)
CUSTOM_PIPELINES = (
    (
        ("Submitted", "open"),
        ("Qualified", "open"),
        ("Demo scheduled", "open"),
        ("Proposal sent", "open"),
        ("Closed won", "won"),
        ("Closed lost", "lost"),
        ("Disqualified", "lost"),
    ),
    (
        ("New", "open"),
        ("Contacted", "open"),
        ("Negotiation", "open"),
        ("Signed", "won"),
        ("Rejected", "lost"),
    ),
)
# Status mix by lead age: (first open, later open, won, lost) weights.
AGE_BUCKETS = ((0, 3), (3, 14), (14, 60), (60, 10**9))
AGE_MIX = ((70, 27, 1, 2), (25, 53, 8, 14), (8, 34, 20, 38), (2, 12, 24, 62))
KIND_FIRST, KIND_OPEN, KIND_WON, KIND_LOST = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# Calendar: every timestamp is an integer minute since the first day, formatted by table lookup.
# ---------------------------------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    """Shift by whole months, clamping the day (31 March - 1 month = 28/29 February)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class _Calendar:
    """Day offsets 0..days (today) with precomputed ISO strings and calendar months."""

    start: date
    days: int
    day_str: tuple[str, ...]
    time_str: tuple[str, ...]
    month_of_day: tuple[int, ...]
    month_first: tuple[date, ...]
    month_last: tuple[date, ...]
    month_last_offset: tuple[int, ...]

    @property
    def end_t(self) -> int:
        """The last minute of today: nothing is dated later."""
        return self.days * _MIN_PER_DAY + _MIN_PER_DAY - 1

    @property
    def current_month(self) -> int:
        return len(self.month_first) - 1

    def ts(self, minute: int) -> str:
        day, rest = divmod(minute, _MIN_PER_DAY)
        return self.day_str[day] + self.time_str[rest]


def _make_calendar(today: date) -> _Calendar:
    start = _add_months(today, -MONTHS_BACK)
    days = (today - start).days
    day_str = tuple((start + timedelta(d)).isoformat() for d in range(days + 1))
    # Seconds vary deterministically so timestamps do not all end in :00.
    time_str = tuple(
        f"T{m // 60:02d}:{m % 60:02d}:{(m * 37) % 60:02d}" for m in range(_MIN_PER_DAY)
    )
    firsts: list[date] = []
    cursor = date(start.year, start.month, 1)
    while cursor <= today:
        firsts.append(cursor)
        cursor = _add_months(cursor, 1)
    lasts = [_add_months(f, 1) - timedelta(1) for f in firsts]
    month_of_day = []
    month = 0
    for d in range(days + 1):
        while start + timedelta(d) > lasts[month]:
            month += 1
        month_of_day.append(month)
    return _Calendar(
        start=start,
        days=days,
        day_str=day_str,
        time_str=time_str,
        month_of_day=tuple(month_of_day),
        month_first=tuple(firsts),
        month_last=tuple(lasts),
        month_last_offset=tuple((last - start).days for last in lasts),
    )


# ---------------------------------------------------------------------------------------------
# Small helpers.
# ---------------------------------------------------------------------------------------------


def _money(cents: int) -> str:
    whole, rest = divmod(cents, 100)
    return f"{whole}.{rest:02d}"


def _percent(hundredths: int) -> str:
    """A percent with at most two decimals and no trailing zeros: 750 -> '7.5'."""
    whole, frac = divmod(hundredths, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def _expand(weighted: Sequence[tuple[Any, float]], size: int) -> tuple[Any, ...]:
    """A lookup table so a weighted pick is ``table[int(random() * size)]`` in the hot loop."""
    total = sum(w for _, w in weighted)
    cum: list[float] = []
    acc = 0.0
    for _, w in weighted:
        acc += w
        cum.append(acc)
    table: list[Any] = []
    done = 0
    for (item, _), upto in zip(weighted, cum, strict=True):
        end = round(upto * size / total)
        table += [item] * (end - done)
        done = end
    return tuple(table)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _ in weighted], [w for _, w in weighted])[0]


def _write_csv(out_dir: Path, name: str, rows: Iterable[Sequence[object]]) -> int:
    """Small files go through csv.writer as is; returns the number of data rows."""
    with (out_dir / name).open("w", newline="", encoding="utf-8", buffering=_BUFFER) as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS[name])
        count = 0
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


# ---------------------------------------------------------------------------------------------
# Organisation: users, partners, channels, pipelines, triggers, reports.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pipeline:
    """Statuses in order with their kind codes and the history paths that can lead to each."""

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    codes: tuple[int, ...]
    paths: tuple[tuple[tuple[str, ...], ...], ...]

    @property
    def won(self) -> str:
        return self.names[self.codes.index(KIND_WON)]


def _make_pipeline(statuses: Sequence[tuple[str, str]]) -> _Pipeline:
    names = tuple(s for s, _ in statuses)
    kinds = tuple(k for _, k in statuses)
    codes = tuple(
        KIND_FIRST if i == 0 else {"open": KIND_OPEN, "won": KIND_WON, "lost": KIND_LOST}[k]
        for i, k in enumerate(kinds)
    )
    later_open = [i for i, c in enumerate(codes) if c == KIND_OPEN]
    paths = tuple(_paths_to(names, codes, later_open, i) for i in range(len(names)))
    return _Pipeline(names, kinds, codes, paths)


def _paths_to(
    names: Sequence[str], codes: Sequence[int], later_open: Sequence[int], target: int
) -> tuple[tuple[str, ...], ...]:
    """Status walks from the first status to `target` with 1-4 entries, repeated by likelihood.

    Won deals usually went through the whole funnel; lost leads often dropped out early.
    """
    if codes[target] == KIND_FIRST:
        return ((names[0],),)
    between = [j for j in later_open if j < target] if codes[target] == KIND_OPEN else later_open
    options: list[tuple[str, ...]] = []
    for a in range(len(between)):  # at most two intermediate steps
        for b in range(a, len(between)):
            steps = (between[a],) if a == b else (between[a], between[b])
            options.append((names[0], *(names[s] for s in steps), names[target]))
    direct = (names[0], names[target])
    if not options:
        return (direct,)
    if codes[target] == KIND_LOST:
        return (*options, *[direct] * len(options))
    return (*options, *[max(options, key=len)] * 2, direct)


@dataclass(frozen=True, slots=True)
class _Trigger:
    id: str
    channel_id: str
    name: str
    event: str
    status: str
    is_pct: bool
    value: int  # cents for fixed, hundredths of a percent for percentage
    requires_approval: bool
    active: bool
    until_t: int  # events from this minute on no longer fire (deactivated)

    def row(self) -> tuple[str, ...]:
        amount = _percent(self.value) if self.is_pct else _money(self.value)
        return (
            self.id,
            self.channel_id,
            self.name,
            self.event,
            self.status,
            "percentage" if self.is_pct else "fixed",
            amount,
            _bool(self.requires_approval),
            _bool(self.active),
        )


def _bool(value: bool) -> str:
    return "true" if value else "false"


@dataclass(slots=True)
class _Channel:
    id: str
    partner_id: str
    partner_name: str
    name: str
    kind_source: str
    status: str
    currency: str
    created_day: int
    start_day: int
    end_day: int
    weight: float
    quality: float
    pipeline: _Pipeline
    custom: bool
    review_span: int  # minutes a review can take
    pay_delay: int  # days after the month's end before payout
    hold_p: float  # chance an approved reward is left unpaid
    reject_p: float
    purchase_p: float
    triggers: list[_Trigger] = field(default_factory=list)
    report_ids: list[str] = field(default_factory=list)  # per calendar month, "" if none


def _make_users(rng: random.Random, partners: int) -> list[tuple[str, str, str, str]]:
    count = max(6, min(40, partners // 10))
    combos = rng.sample(range(len(FIRST_NAMES) * len(LAST_NAMES)), count)
    users = []
    for i, combo in enumerate(combos, 1):
        first, last = FIRST_NAMES[combo // len(LAST_NAMES)], LAST_NAMES[combo % len(LAST_NAMES)]
        email = f"{_ascii(first)}.{_ascii(last)}@keen-demo.example"
        role = "admin" if i == 1 else USER_ROLES[(i - 1) % len(USER_ROLES)]
        users.append((f"U{i:03d}", email, f"{first} {last}", role))
    return users


def _ascii(word: str) -> str:
    """Lowercase ASCII for e-mail local parts and domains (Müller -> muller)."""
    table = str.maketrans("üöäéáíñ", "uoaeain")
    return "".join(c for c in word.lower().translate(table) if c.isalnum())


def _make_partners(rng: random.Random, count: int) -> list[tuple[str, ...]]:
    space = len(COMPANY_PREFIX) * len(COMPANY_CORE) * len(PARTNER_SUFFIX)
    rows: list[tuple[str, ...]] = []
    for i, combo in enumerate(rng.sample(range(space), count), 1):
        rest, suffix = divmod(combo, len(PARTNER_SUFFIX))
        prefix, core = divmod(rest, len(COMPANY_CORE))
        stem = COMPANY_PREFIX[prefix] + COMPANY_CORE[core]
        tier = _pick(rng, (("gold", 15), ("silver", 35), ("bronze", 40), ("", 10)))
        note = rng.choice(PARTNER_NOTES) if rng.random() < 0.3 else ""
        email = f"partners@{stem.lower()}.example" if rng.random() < 0.9 else ""
        rows.append((f"PTR-{i:04d}", f"{stem} {PARTNER_SUFFIX[suffix]}", email, tier, note))
    return rows


def _channel_window(rng: random.Random, status: str, days: int) -> tuple[int, int, int]:
    """(created, first lead, last lead) day: paused and archived channels went quiet earlier."""
    if status == "archived":
        end = days - 90 - int(rng.random() * 300)
    elif status == "paused":
        end = days - 15 - int(rng.random() * 120)
    elif rng.random() < 0.06:  # active, but no recent leads
        end = days - 31 - int(rng.random() * 60)
    else:
        end = days
    end = max(end, 20)
    created = int((end - 10) * rng.random() ** 1.6)
    first = min(created + 1 + int(rng.random() * 10), end)
    return created, first, end


# Fixed traits for the first channels, so even the smallest dataset has every kind of channel.
_FORCED_STATUS = {4: "archived", 5: "paused"}
_FORCED_CURRENCY = {2: "EUR", 4: "GBP"}
_FORCED_CUSTOM = 3


def _make_channels(
    rng: random.Random, partners: Sequence[tuple[str, ...]], cal: _Calendar
) -> list[_Channel]:
    """1-3 channels per partner, each from a different channel kind."""
    pipelines = [_make_pipeline(p) for p in (DEFAULT_PIPELINE, *CUSTOM_PIPELINES)]
    channels: list[_Channel] = []
    for partner_id, partner_name, *_ in partners:
        count = _pick(rng, ((1, 50), (2, 35), (3, 15)))
        for kind in rng.sample(CHANNEL_KINDS, count):
            n = len(channels) + 1
            channels.append(_make_channel(rng, n, cal, pipelines, (partner_id, partner_name), kind))
    return channels


def _make_channel(
    rng: random.Random,
    n: int,
    cal: _Calendar,
    pipelines: Sequence[_Pipeline],
    partner: tuple[str, str],
    kind: tuple[str, str],
) -> _Channel:
    """The channel's traits: status, activity window, size, lead quality, payout habits."""
    status = _pick(rng, (("active", 78), ("paused", 12), ("archived", 10)))
    status = _FORCED_STATUS.get(n, status)
    currency = _pick(rng, (("USD", 90), ("EUR", 6), ("GBP", 4)))
    created, first, end = _channel_window(rng, status, cal.days)
    custom = n == _FORCED_CUSTOM or rng.random() < 0.04
    quality = min(3.0, max(0.25, rng.lognormvariate(0, 0.45)))
    if rng.random() < 0.08:
        quality = 0.2  # sends volume that rarely converts
    return _Channel(
        id=f"CH-{n:04d}",
        partner_id=partner[0],
        partner_name=partner[1],
        name=f"{partner[1].split()[0]} {kind[0]}",
        kind_source=kind[1],
        status=status,
        currency=_FORCED_CURRENCY.get(n, currency),
        created_day=created,
        start_day=first,
        end_day=end,
        weight=min(rng.lognormvariate(0, 1.3), 60.0) * (end - first + 1) / cal.days,
        quality=quality,
        pipeline=rng.choice(pipelines[1:]) if custom else pipelines[0],
        custom=custom,
        review_span=(1 + int(rng.random() * (60 if rng.random() < 0.2 else 14))) * _MIN_PER_DAY,
        pay_delay=3 + int(rng.random() * 18),
        hold_p=0.35 if rng.random() < 0.15 else 0.02,
        reject_p=0.03 + rng.random() * 0.07,
        purchase_p=0.02 + rng.random() * 0.05,
    )


def _status_tables(channel: _Channel) -> tuple[tuple[int, ...], ...]:
    """Per age bucket, a table of status indices weighted by age and channel quality."""
    codes = channel.pipeline.codes
    tables = []
    for first, later, won, lost in AGE_MIX:
        won_w = won * channel.quality
        lost_w = max(1.0, lost + won - won_w)
        by_code = {KIND_FIRST: first, KIND_OPEN: later, KIND_WON: won_w, KIND_LOST: lost_w}
        weighted: list[tuple[int, float]] = []
        for code, total in by_code.items():
            members = [i for i, c in enumerate(codes) if c == code]
            # Earlier statuses of a kind are more common (funnel shape): weights 1, 1/2, 1/3...
            shares = [1 / (k + 1) for k in range(len(members))]
            weighted += [(i, total * s / sum(shares)) for i, s in zip(members, shares, strict=True)]
        tables.append(_expand(weighted, _TABLE))
    return tuple(tables)


def _make_triggers(rng: random.Random, channels: Sequence[_Channel], cal: _Calendar) -> None:
    """1-3 triggers per channel; the first two channels cover every event and amount type."""
    count = 0
    for n, ch in enumerate(channels):
        specs: list[tuple[str, str, bool]] = []  # (event, status, is_pct)
        if n == 0 or (n > 1 and rng.random() < 0.35):
            specs.append(("lead_submitted", "", False))
        if n <= 1 or rng.random() < 0.85:
            is_pct = n == 0 or (n > 1 and rng.random() < 0.55)
            specs.append(("status_reached", ch.pipeline.won, is_pct))
        if n == 1 or (n > 1 and rng.random() < 0.25):
            mid = ch.pipeline.names[len([c for c in ch.pipeline.codes if c < KIND_WON]) - 1]
            specs.append(("status_reached", mid, False))
        if n <= 1 or rng.random() < 0.2:
            specs.append(("purchase", "", n == 0 or (n > 1 and rng.random() < 0.6)))
        for event, status, is_pct in specs:
            count += 1
            tid = f"TR-{count:04d}"
            ch.triggers.append(_make_trigger(rng, tid, ch, event, status, is_pct, cal))


def _make_trigger(
    rng: random.Random,
    tid: str,
    ch: _Channel,
    event: str,
    status: str,
    is_pct: bool,
    cal: _Calendar,
) -> _Trigger:
    if event == "lead_submitted":
        name, value = "Lead bonus", (5 + int(rng.random() * 36)) * 100 + rng.choice((0, 50))
    elif event == "purchase":
        name = "Purchase commission"
        fixed = (20 + int(rng.random() * 81)) * 100
        value = rng.choice((200, 250, 500, 750, 1000)) if is_pct else fixed
    elif status == ch.pipeline.won:
        name = "Won deal commission"
        fixed = (5 + int(rng.random() * 20)) * 5000
        value = rng.choice((500, 750, 1000, 1200, 1500)) if is_pct else fixed
    else:
        name, value = f"{status} bonus", (25 + int(rng.random() * 126)) * 100
    active = rng.random() < 0.9
    until_day = ch.start_day + int((cal.days - ch.start_day) * (0.3 + 0.6 * rng.random()))
    return _Trigger(
        id=tid,
        channel_id=ch.id,
        name=name,
        event=event,
        status=status,
        is_pct=is_pct,
        value=value,
        requires_approval=rng.random() < 0.8,
        active=active,
        until_t=cal.end_t + 1 if active else until_day * _MIN_PER_DAY,
    )


def _make_reports(rng: random.Random, channels: Sequence[_Channel], cal: _Calendar) -> list[tuple]:
    """One report per channel and completed month, from the channel's creation month."""
    rows: list[tuple] = []
    for ch in channels:
        ch.report_ids = [""] * (cal.current_month + 1)
        if not ch.triggers:
            continue
        for month in range(cal.month_of_day[ch.created_day], cal.current_month):
            rid = f"RR-{len(rows) + 1:06d}"
            ch.report_ids[month] = rid
            note = rng.choice(FLAG_NOTES) if rng.random() < 0.02 else ""
            rows.append(
                (
                    rid,
                    ch.id,
                    cal.month_first[month].isoformat(),
                    cal.month_last[month].isoformat(),
                    note,
                )
            )
    return rows


def _channel_rows(channels: Sequence[_Channel], cal: _Calendar) -> Iterable[tuple]:
    for ch in channels:
        description = f"Leads from {ch.partner_name} ({ch.name.split(' ', 1)[1].lower()})"
        created = cal.day_str[ch.created_day] + "T09:00:00"
        yield (ch.id, ch.partner_id, ch.name, ch.status, ch.currency, created, description)


def _pipeline_rows(channels: Sequence[_Channel]) -> Iterable[tuple]:
    for ch in channels:
        if ch.custom:
            p = ch.pipeline
            for pos, (name, kind) in enumerate(zip(p.names, p.kinds, strict=True), 1):
                yield (ch.id, name, kind, pos)


def _integration_rows(
    rng: random.Random, channels: Sequence[_Channel], cal: _Calendar
) -> list[tuple]:
    rows: list[tuple] = []
    for ch in channels:
        if rng.random() >= 0.45:
            continue
        state = _pick(rng, (("connected", 80), ("error", 12), ("disconnected", 8)))
        back = 0 if state == "connected" else 2 + int(rng.random() * 40)
        sync_day = max(ch.created_day, cal.days - back)
        sync = cal.ts(sync_day * _MIN_PER_DAY + int(rng.random() * _MIN_PER_DAY))
        error = rng.choice(INTEGRATION_ERRORS) if state == "error" else ""
        rows.append(
            (f"INT-{len(rows) + 1:04d}", ch.id, rng.choice(INTEGRATION_KINDS), state, sync, error)
        )
    return rows


def _form_field_rows(rng: random.Random, channels: Sequence[_Channel]) -> list[tuple]:
    rows: list[tuple] = []
    for ch in channels:
        extra = rng.sample(FORM_FIELDS[2:], 1 + int(rng.random() * 4))
        chosen = [f for f in FORM_FIELDS if f in FORM_FIELDS[:2] or f in extra]
        for pos, (name, label) in enumerate(chosen, 1):
            required = name in ("contact_name", "email") or rng.random() < 0.2
            rows.append((ch.id, name, label, _bool(required), pos))
    return rows


# ---------------------------------------------------------------------------------------------
# Lead pools: everything the hot loop picks from, built once.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pools:
    """Values the hot loop picks from. Text is stored already CSV-quoted (see `_field`)."""

    companies: tuple[tuple[str, str, str, str, tuple[str, ...]], ...]
    people: tuple[tuple[str, str, str, str], ...]
    notes: tuple[str, ...]
    deals: tuple[tuple[int, str, str], ...]
    purchases: tuple[int, ...]
    minutes: tuple[int, ...]
    owners: tuple[str, ...]


def _make_companies(rng: random.Random, count: int) -> list[tuple]:
    """(name, domain, "industry,size,country", ",,country", phone prefixes), CSV-ready.

    The industry follows the name's suffix when it has an obvious one (Labs -> Software).
    """
    for word in (*COMPANY_PREFIX, *COMPANY_CORE, *(w for w, _ in COMPANY_SUFFIX)):
        _plain(word)
    space = len(COMPANY_PREFIX) * len(COMPANY_CORE) * len(COMPANY_SUFFIX)
    countries = [(c, w) for c, w, *_ in COUNTRIES]
    info = {c: (tld, phones) for c, _, tld, phones in COUNTRIES}
    rows = []
    for combo in rng.sample(range(space), min(count, space)):
        rest, suffix = divmod(combo, len(COMPANY_SUFFIX))
        prefix, core = divmod(rest, len(COMPANY_CORE))
        stem = COMPANY_PREFIX[prefix] + COMPANY_CORE[core]
        word, industry = COMPANY_SUFFIX[suffix]
        country = _pick(rng, countries)
        tld, phones = info[country]
        industry = industry or rng.choice(INDUSTRIES)
        if rng.random() < 0.1:
            industry = ""
        size = _pick(rng, COMPANY_SIZES)
        tail = ",".join(map(_field, (industry, size, country)))
        rows.append((f"{stem} {word}", stem.lower() + tld, tail, ",," + _field(country), phones))
    return rows


def _make_people() -> tuple[tuple[str, str, str, str], ...]:
    """Every first/last name pair: (contact name, and e-mail local parts first.last, flast,
    first)."""
    people = []
    for first in FIRST_NAMES:
        for last in LAST_NAMES:
            f, la = _ascii(first), _ascii(last)
            people.append((_plain(f"{first} {last}"), f"{f}.{la}", f"{f[0]}{la}", f))
    return tuple(people)


def _make_notes() -> tuple[str, ...]:
    notes = []
    for template in NOTE_TEMPLATES:
        for i, comp in enumerate(COMPETITORS):
            prod = PRODUCTS[i % len(PRODUCTS)]
            notes.append(template.format(comp=comp, prod=prod, q=1 + i % 4, n=5 * (i + 2)))
    return tuple(map(_field, notes))


def _make_pools(rng: random.Random, leads: int, owners: Sequence[str]) -> _Pools:
    deals = []
    for _ in range(4096):
        value = min(rng.lognormvariate(8.9, 0.9), 500_000.0)
        cents = round(value / 50) * 5000 if rng.random() < 0.7 else int(value * 100)
        cents = max(cents, 50_000)
        deals.append((cents, _money(cents), _budget(cents)))
    purchases = tuple(int(rng.lognormvariate(7.0, 0.8) * 100) + 1000 for _ in range(1024))
    hours = [(m, 8.0 if 8 * 60 <= m < 19 * 60 else 0.6) for m in range(_MIN_PER_DAY)]
    return _Pools(
        companies=tuple(_make_companies(rng, max(300, min(12_000, leads // 20)))),
        people=_make_people(),
        notes=_make_notes(),
        deals=tuple(deals),
        purchases=purchases,
        minutes=_expand(hours, 4096),
        owners=tuple(map(_field, owners)),
    )


# ---------------------------------------------------------------------------------------------
# The streaming pass: leads, their history, purchases and rewards.
#
# csv.writer costs several microseconds per row (7 us for a lead row on the reference machine),
# which alone would take ~20 s for a million leads. So the big files are written as preformatted
# lines: every text value that comes from a pool is quoted once by the csv module (`_field`), and
# the values assembled per row (ids, numbers, timestamps, e-mails, phones, names from word lists
# checked by `_plain`) cannot contain a comma, quote or line break. The result is byte-for-byte
# what csv.writer would have written (the tests check this).
# ---------------------------------------------------------------------------------------------

STREAMED = ("leads.csv", "lead_status_history.csv", "purchases.csv", "rewards.csv")


@functools.cache
def _field(value: str) -> str:
    """One field exactly as csv.writer writes it inside a row (RFC 4180 quoting when needed)."""
    if not value:
        return ""
    buf = io.StringIO()
    csv.writer(buf).writerow((value,))  # the default dialect, as in every file we write
    return buf.getvalue().removesuffix("\r\n")


def _plain(value: str) -> str:
    """Guard for text joined into fields unquoted: it must need no quoting at all."""
    if _field(value) != value:
        raise ValueError(f"needs CSV quoting, cannot be composed: {value!r}")
    return value


class _Sink:
    """One big file: rows are appended as finished lines and written once per chunk."""

    __slots__ = ("count", "fh", "lines")

    def __init__(self, out_dir: Path, name: str) -> None:
        self.fh = (out_dir / name).open("w", newline="", encoding="utf-8", buffering=_BUFFER)
        csv.writer(self.fh).writerow(COLUMNS[name])
        self.lines: list[str] = []
        self.count = 0  # rows already written

    def flush(self) -> None:
        self.fh.write("".join(self.lines))
        self.count += len(self.lines)
        self.lines.clear()

    def close(self) -> None:
        self.flush()
        self.fh.close()


class _Stream:
    """Writes the four big files in one pass over the leads."""

    def __init__(
        self,
        rng: random.Random,
        out_dir: Path,
        cal: _Calendar,
        channels: Sequence[_Channel],
        pools: _Pools,
    ) -> None:
        self.rng, self.cal, self.pools = rng, cal, pools
        self.sinks: dict[str, _Sink] = {}
        try:
            for name in STREAMED:
                self.sinks[name] = _Sink(out_dir, name)
        except BaseException:
            self.close()
            raise
        self.runtime = [self._runtime(ch) for ch in channels]
        acc, self.cum = 0.0, []
        for ch in channels:
            acc += ch.weight
            self.cum.append(acc)
        self.total = acc
        self.buckets = _age_buckets(cal.days)
        self.reward = self._reward_writer()

    @property
    def counts(self) -> dict[str, int]:
        return {name: sink.count + len(sink.lines) for name, sink in self.sinks.items()}

    def _runtime(self, ch: _Channel) -> tuple:
        """Per-channel values unpacked once per lead instead of attribute lookups."""
        p = ch.pipeline
        by_event = {
            e: tuple(
                (t.id, _field(t.status), t.is_pct, t.value, t.requires_approval, t.until_t)
                for t in ch.triggers
                if t.event == e
            )
            for e in ("lead_submitted", "status_reached", "purchase")
        }
        sources = _expand([(ch.kind_source, 6), *((s, 0.45) for s in SOURCES)], 32)
        reward_ctx = (ch.id, ch.report_ids, ch.review_span, ch.pay_delay, ch.hold_p, ch.reject_p)
        return (
            ch.id,
            ch.start_day,
            ch.end_day - ch.start_day + 1,
            _status_tables(ch),
            tuple(map(_field, p.names)),
            p.codes,
            tuple(tuple(tuple(map(_field, path)) for path in opts) for opts in p.paths),
            by_event["lead_submitted"],
            by_event["status_reached"],
            by_event["purchase"],
            tuple(map(_field, sources)),
            ch.purchase_p,
            reward_ctx,
        )

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()

    def run(self, leads: int, progress: Progress | None) -> None:
        reported: dict[str, int] = {}
        for begin in range(0, leads, _CHUNK):
            self._leads(begin, min(begin + _CHUNK, leads))
            for sink in self.sinks.values():
                sink.flush()
            if progress is not None:
                self._report(progress, reported, final=False)
        if progress is not None:
            self._report(progress, reported, final=True)

    def _report(self, progress: Progress, reported: dict[str, int], final: bool) -> None:
        """Call `progress` each time a file passes another PROGRESS_EVERY rows, and at the end."""
        for name, done in self.counts.items():
            last = reported.get(name)
            passed = done // PROGRESS_EVERY > (last or 0) // PROGRESS_EVERY
            if done != last if final else passed:
                progress(name, done)
                reported[name] = done

    def _leads(self, begin: int, end: int) -> None:
        """The hot loop, kept flat: locals instead of attributes, table lookups, f-strings."""
        rnd = self.rng.random
        cal, pools = self.cal, self.pools
        day_str, time_str, days, end_t = cal.day_str, cal.time_str, cal.days, cal.end_t
        bucket = self.buckets
        minutes, n_min = pools.minutes, len(pools.minutes)
        companies, n_comp = pools.companies, len(pools.companies)
        people, n_people = pools.people, len(pools.people)
        notes, n_notes = pools.notes, len(pools.notes)
        deals, n_deals = pools.deals, len(pools.deals)
        purchase_pool, n_pp = pools.purchases, len(pools.purchases)
        owners, n_owners = pools.owners, len(pools.owners)
        runtime, cum, total = self.runtime, self.cum, self.total
        lead_out = self.sinks["leads.csv"].lines.append
        hist_out = self.sinks["lead_status_history.csv"].lines.append
        buys = self.sinks["purchases.csv"]
        reward = self.reward
        for i in range(begin, end):
            (
                cid,
                start,
                span,
                tables,
                names,
                codes,
                paths,
                on_submit,
                on_status,
                on_buy,
                sources,
                purchase_p,
                rctx,
            ) = runtime[bisect_right(cum, rnd() * total)]
            lid = f"L{i + 1:07d}"
            day = start + int(span * rnd() ** 0.75)  # more leads lately
            minute = minutes[int(rnd() * n_min)]
            c_t = day * _MIN_PER_DAY + minute
            created = day_str[day] + time_str[minute]
            age = days - day
            s = tables[bucket[age]][int(rnd() * _TABLE)]
            code = codes[s]
            if code == KIND_FIRST:
                s_t, changed, path = c_t, created, paths[s][0]
            else:
                cap = min(age, 60 if code == KIND_OPEN else 120)
                s_t = (day + int((cap + 1) * rnd())) * _MIN_PER_DAY + minutes[int(rnd() * n_min)]
                if s_t <= c_t:
                    s_t = min(c_t + 7 + int(rnd() * 120), end_t)
                changed = day_str[s_t // _MIN_PER_DAY] + time_str[s_t % _MIN_PER_DAY]
                options = paths[s]
                path = options[int(rnd() * len(options))]

            company, domain, tail, private_tail, phones = companies[int(rnd() * n_comp)]
            contact, dotted, initial, first_name = people[int(rnd() * n_people)]
            x = rnd()
            if x < 0.04:  # private person or unknown company
                company, tail = "", private_tail
                domain = PERSONAL_DOMAINS[int(x * 100)]
            y = rnd()
            if y < 0.06:
                email = ""
            elif y < 0.74:
                email = f"{dotted}@{domain}"
            elif y < 0.92:
                email = f"{initial}@{domain}"
            else:
                email = f"{first_name}@{domain}"
            z = rnd()
            if z < 0.15 or (not email and z < 0.5):
                phone = ""
            else:
                phone = f"{phones[int(z * 100) % len(phones)]}{1_000_000 + int(rnd() * 8_999_999)}"
            if rnd() < 0.09:
                cents, deal, budget = None, "", ""
            else:
                cents, deal, budget = deals[int(rnd() * n_deals)]
                if rnd() < 0.4:
                    budget = ""
            note = notes[int(rnd() * n_notes)] if rnd() < 0.65 else ""
            o = rnd()
            owner = "" if o < (0.4 if code == KIND_FIRST else 0.03) else owners[int(o * n_owners)]
            lead_out(
                f"{lid},{cid},{contact},{company},{email},{phone},{sources[int(rnd() * 32)]},"
                f"{note},{deal},{names[s]},{created},{changed},{owner},{tail},{budget}\r\n"
            )

            steps = len(path)
            hist_out(f"{lid},,{path[0]},{created}\r\n")
            for k in range(1, steps - 1):
                t = c_t + (s_t - c_t) * k // (steps - 1)
                at = day_str[t // _MIN_PER_DAY] + time_str[t % _MIN_PER_DAY]
                hist_out(f"{lid},{path[k - 1]},{path[k]},{at}\r\n")
            if steps > 1:
                hist_out(f"{lid},{path[-2]},{path[-1]},{changed}\r\n")

            for trig in on_submit:
                reward(trig, c_t, cents, lid, rctx)
            for trig in on_status:
                if trig[1] in path:
                    k = path.index(trig[1])
                    reward(trig, c_t + (s_t - c_t) * k // max(steps - 1, 1), cents, lid, rctx)
            if code == KIND_WON and rnd() < purchase_p:
                for _ in range(1 + (rnd() < 0.3)):
                    p_day = s_t // _MIN_PER_DAY + 1 + int(rnd() * 90)
                    if p_day > days:
                        break  # not bought yet
                    p_minute = minutes[int(rnd() * n_min)]
                    amount = purchase_pool[int(rnd() * n_pp)]
                    pid = f"PUR-{buys.count + len(buys.lines) + 1:07d}"
                    at = day_str[p_day] + time_str[p_minute]
                    buys.lines.append(f"{pid},{lid},{_money(amount)},{at}\r\n")
                    for trig in on_buy:
                        reward(trig, p_day * _MIN_PER_DAY + p_minute, amount, lid, rctx)

    def _reward_writer(self) -> Callable[[tuple, int, int | None, str, tuple], None]:
        """A closure, so the hundreds of thousands of calls read locals, not attributes."""
        rnd = self.rng.random
        cal = self.cal
        day_str, time_str, end_t = cal.day_str, cal.time_str, cal.end_t
        month_of_day, month_last = cal.month_of_day, cal.month_last_offset
        append = self.sinks["rewards.csv"].lines.append
        reasons = tuple(map(_field, REJECT_REASONS))
        written = 0

        def reward(trig: tuple, ev_t: int, base: int | None, lead_id: str, rctx: tuple) -> None:
            """Fire one trigger; the status follows from review and monthly payout timing."""
            nonlocal written
            tid, _status, is_pct, value, requires, until_t = trig
            if ev_t >= until_t:
                return  # the trigger was switched off by then
            if is_pct:
                if base is None:
                    return  # a percentage of a missing deal value creates no reward
                cents = (base * value + 5000) // 10000  # half-up to cents
            else:
                cents = value
            cid, report_ids, review_span, pay_delay, hold_p, reject_p = rctx
            month = month_of_day[ev_t // _MIN_PER_DAY]
            report = report_ids[month]
            approved = paid = rejected = ref = reason = ""
            ok_t = ev_t + 60 + int(rnd() * review_span) if requires else ev_t
            if ok_t > end_t:
                status = "awaiting_review"
            elif requires and rnd() < reject_p:
                status = "rejected"
                rejected = day_str[ok_t // _MIN_PER_DAY] + time_str[ok_t % _MIN_PER_DAY]
                reason = reasons[int(rnd() * len(reasons))]
            else:
                approved = day_str[ok_t // _MIN_PER_DAY] + time_str[ok_t % _MIN_PER_DAY]
                pay_day = month_last[month] + pay_delay + int(rnd() * 6)
                pay_t = pay_day * _MIN_PER_DAY + 600 + int(rnd() * 300)
                if pay_t <= ok_t:
                    pay_t = ok_t + 90
                if pay_t > end_t or not report or rnd() < hold_p:
                    status = "approved"
                else:
                    status, ref = "paid", "PAY-" + report
                    paid = day_str[pay_t // _MIN_PER_DAY] + time_str[pay_t % _MIN_PER_DAY]
            created = day_str[ev_t // _MIN_PER_DAY] + time_str[ev_t % _MIN_PER_DAY]
            written += 1
            append(
                f"RW-{written:07d},{cid},{lead_id},{tid},{report},"
                f"{cents // 100}.{cents % 100:02d},{status},{created},{approved},{paid},"
                f"{rejected},{ref},{reason}\r\n"
            )

        return reward


def _budget(cents: int) -> str:
    if cents < 1_000_000:
        return "<10k"
    if cents < 5_000_000:
        return "10k-50k"
    return "50k-100k" if cents < 10_000_000 else ">100k"


def _age_buckets(days: int) -> tuple[int, ...]:
    return tuple(
        next(b for b, (lo, hi) in enumerate(AGE_BUCKETS) if lo <= age < hi)
        for age in range(days + 1)
    )


# ---------------------------------------------------------------------------------------------
# Entry point.
# ---------------------------------------------------------------------------------------------


def generate_dataset(
    out_dir: Path,
    leads: int,
    seed: int = 0,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a realistic dataset of `leads` leads into out_dir; returns rows written per file."""
    if leads < 0:
        raise ValueError("leads must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    cal = _make_calendar(today or date.today())
    n_partners = min(max(5, leads // 2000), 500)

    users = _make_users(rng, n_partners)
    partners = _make_partners(rng, n_partners)
    channels = _make_channels(rng, partners, cal)
    _make_triggers(rng, channels, cal)
    reports = _make_reports(rng, channels, cal)
    small: dict[str, Iterable[Sequence[object]]] = {
        "users.csv": users,
        "partners.csv": partners,
        "channels.csv": _channel_rows(channels, cal),
        "pipeline.csv": _pipeline_rows(channels),
        "reward_triggers.csv": [t.row() for ch in channels for t in ch.triggers],
        "reward_reports.csv": reports,
        "integrations.csv": _integration_rows(rng, channels, cal),
        "lead_form_fields.csv": _form_field_rows(rng, channels),
    }
    counts = {}
    for name, rows in small.items():
        counts[name] = _write_csv(out_dir, name, rows)
        if progress is not None:
            progress(name, counts[name])

    owners = [name for _, _, name, role in users if role in ("manager", "admin")]
    stream = _Stream(rng, out_dir, cal, channels, _make_pools(rng, leads, owners))
    try:
        stream.run(leads, progress)
    finally:
        stream.close()
    counts.update(stream.counts)
    return counts
