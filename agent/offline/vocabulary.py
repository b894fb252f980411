"""Words the offline planner recognises: reward states, metrics, patterns, flags, orderings.

Kept as data (phrase → meaning) so a new paraphrase is a one-line change, not new code.
"""

from __future__ import annotations

import re

# Reward states; "outstanding" and its synonyms mean `approved` (metrics.md).
REWARD_STATES: tuple[tuple[str, str], ...] = (
    (r"approved but not (?:yet )?paid|approved and unpaid|approved,? unpaid", "approved"),
    (r"not (?:yet )?paid|unpaid|outstanding|owed?|owing|still to pay|to be paid|due", "approved"),
    (
        r"awaiting (?:review|approval)|pending|to review|need(?:s)? review|unreviewed",
        "awaiting_review",
    ),
    (r"waiting for (?:review|approval)|not (?:yet )?(?:reviewed|approved)", "awaiting_review"),
    (r"\bapproved\b", "approved"),
    (r"\bpaid\b|paid out|payouts? made|settled", "paid"),
    (r"\brejected\b|declined|refused", "rejected"),
)

# Metrics of metrics.md, most specific phrases first.
METRICS: tuple[tuple[str, str], ...] = (
    (r"reward[- ]to[- ]revenue|\broi\b|return on investment", "reward_to_revenue"),
    (r"net value|net revenue|net", "net_value"),
    (
        r"average deal|avg\.? deal|deal size|average order|biggest deals?|largest deals?",
        "average_deal_size",
    ),
    (
        r"conver[st]\w*|win rate|close rate|closing rate|success rate|share of (?:the )?leads|hit rate",
        "conversion_rate",
    ),
    (
        r"won deals?|deals won|won the most|closed the most|most deals|deals closed|closed deals|number of deals|how many deals",
        "won_deals",
    ),
    (
        r"reward total|total rewards?|rewards? total|most rewards|reward spend|commissions?",
        "reward_total",
    ),
    (r"revenue|income|sales|money|earned|made the most|generated", "revenue"),
    (r"won deals?|deals won|won the most|closed deals|wins\b|customers won", "won_deals"),
    (
        r"lead volume|most leads|fewest leads|least leads|number of leads|sent the most|volume|how many leads",
        "lead_volume",
    ),
)

PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"high (?:lead )?volume.{0,30}low (?:conversion|quality)|many leads.{0,30}(?:low|poor|few)|lead[- ]quality|low[- ]quality|quality (?:issue|problem)",
        "high_volume_low_conversion",
    ),
    (
        r"low (?:lead )?volume.{0,30}high conversion|few leads.{0,30}(?:convert|high)|growth opportunit",
        "low_volume_high_conversion",
    ),
    (
        r"high rewards?.{0,30}low revenue|rewards? (?:too high|cost too much)|roi (?:issue|problem)|overpay",
        "high_rewards_low_revenue",
    ),
    (
        r"process bottleneck|stuck in (?:one|the same) (?:status|stage)|many leads stuck|(?:bunch|lot|lots) of leads (?:are )?stuck",
        "stuck_in_one_status",
    ),
    (
        r"no (?:recent|new) leads|stopped sending|not sending|gone quiet|inactive partners?|not engaged|engagement (?:issue|problem)|disengaged",
        "no_recent_leads",
    ),
)

ORDER_ASC = re.compile(r"\b(?:least|lowest|worst|fewest|smallest|bottom|weakest|poorest|minimum)\b")
ORDER_DESC = re.compile(
    r"\b(?:most|highest|best|top|biggest|largest|greatest|strongest|maximum|leading)\b"
)
TOP_N = re.compile(
    r"\b(?:top|best|worst|bottom|first)\s+(\d{1,3})\b|\b(\d{1,3})\s+(?:best|worst|top|highest|lowest)\b"
)
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

FLAGS: tuple[tuple[str, str], ...] = (
    (r"\bstuck\b|stall(?:ed|ing)?|not moving|stagnant|sitting idle", "stuck"),
    (
        r"needs? (?:action|attention|follow[- ]?up)|untouched|not (?:yet )?contacted|waiting for (?:us|a response|response)|no response|uncontacted|need action",
        "needs_action",
    ),
    (
        r"missing (?:info|information|data|details|fields?)|incomplete|without (?:an? )?(?:email|phone|deal value|company)|no (?:email|phone|deal value)|lack(?:ing)? (?:info|details)",
        "missing_information",
    ),
)

STATUS_KINDS: tuple[tuple[str, str], ...] = (
    (r"\bwon\b|\bwin\b|closed[- ]won|converted leads|became customers", "won"),
    (r"\blost\b|closed[- ]lost|dead leads", "lost"),
    (r"\bopen\b|in (?:the )?pipeline|active leads|progressing|in progress", "open"),
)

PARTNER_WORDS = re.compile(r"\bpartner(?:s|ship|ships)?\b")
CHANNEL_WORDS = re.compile(r"\bchannels?\b")
THIS_CHANNEL = re.compile(
    r"\b(?:this|the current|current|my|our) (?:channel|partnership|partner)\b|\bthis one\b|\bhere\b"
)


def first_match(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, meaning in table:
        if re.search(pattern, text):
            return meaning
    return None


def all_matches(table: tuple[tuple[str, str], ...], text: str) -> list[str]:
    found: list[str] = []
    for pattern, meaning in table:
        if meaning not in found and re.search(pattern, text):
            found.append(meaning)
    return found
