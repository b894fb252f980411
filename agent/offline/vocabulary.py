"""Words the offline planner recognises: reward states, metrics, patterns, flags, orderings.

Kept as data (phrase → meaning) so a new paraphrase is a one-line change, not new code.
"""

from __future__ import annotations

import re

# Reward states; "outstanding" and its synonyms mean `approved` (metrics.md).
REWARD_STATES: tuple[tuple[str, str], ...] = (
    (r"approved but not (?:yet )?paid|approved and unpaid|approved,? unpaid", "approved"),
    (
        r"\bnot (?:yet )?paid|\bunpaid|outstanding|\bowed?\b|\bowing\b|still to pay|to be paid|\bdue\b|still owe",
        "approved",
    ),
    (
        r"awaiting (?:review|approval)|\bpending\b|to review|needs? review|unreviewed",
        "awaiting_review",
    ),
    (
        r"waiting (?:for|on) (?:review|approval)|not (?:yet )?(?:reviewed|approved)",
        "awaiting_review",
    ),
    (r"\bapproved\b", "approved"),
    (
        r"\bpaid\b|paid out|payouts?\b|pay-outs?|\bsettled\b|did we (?:ever )?pay|have we paid|"
        r"what did we pay",
        "paid",
    ),
    (r"\brejected\b|\bdeclined\b|\brefused\b|turn(?:ed)? down|\bdenied\b", "rejected"),
)

# Metrics of metrics.md, most specific phrases first.
METRICS: tuple[tuple[str, str], ...] = (
    (
        r"reward[- ]to[- ]revenue|\broi\b|return on investment|revenue goes (?:back )?(?:out )?(?:as|to|in) rewards|share of (?:the )?revenue.{0,30}rewards|rewards? (?:as a )?(?:share|percentage|ratio) of revenue",
        "reward_to_revenue",
    ),
    (r"net value|net revenue|\bnet\b", "net_value"),
    (
        r"average deal|avg\.? deal|deal size|average order|average (?:deal )?value|biggest deals?|largest deals?",
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
        r"reward total|total rewards?|rewards? total|most (?:in )?rewards|reward spend|spen[dt] on rewards|cost us the most|in rewards\b",
        "reward_total",
    ),
    (r"revenue|\bincome\b|\bsales\b|\bmoney\b|made the most|\bgenerated\b", "revenue"),
    (
        r"\bwins\b|customers won|how many (?:did we|we) win|won leads|how many .{0,30}\bwon\b",
        "won_leads",
    ),
    (
        r"lead volume|most leads|fewest leads|least leads|number of leads|sent the most|\bvolume\b|how many leads|sends? (?:us )?the most|enough leads|(?:getting|get|receiving) (?:more |fewer |less )?leads\b",
        "lead_volume",
    ),
)

PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"high (?:lead )?volume.{0,30}low (?:conversion|quality)|(?:many|lots of|a lot of|a ton of|tons of|plenty of|loads of|high number of) leads.{0,40}(?:low|poor|few|don'?t|do not|hardly|rarely|never|not)|volume is high.{0,40}(?:low|poor)|lead[- ]quality|low[- ]quality|quality (?:issue|problem)|junk leads",
        "high_volume_low_conversion",
    ),
    (
        r"low (?:lead )?volume.{0,30}high conversion|(?:few|not many|a handful of|small number of) leads.{0,40}(?:convert|high|well|close)|growth opportunit|small but (?:mighty|efficient)",
        "low_volume_high_conversion",
    ),
    (
        r"high rewards?.{0,30}low revenue|rewards? (?:are )?(?:too high|cost too much)|roi (?:issue|problem)|overpay|paying too much|too much in rewards|rewards? (?:relative|compared) to revenue",
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
    (
        r"health ?check|anything worrying|red flags?|warning (?:signs?|patterns?)|any (?:of the )?patterns?|what patterns|concerning|worrying",
        "any",
    ),
)

ORDER_ASC = re.compile(r"\b(?:least|lowest|worst|fewest|smallest|bottom|weakest|poorest|minimum)\b")
ORDER_DESC = re.compile(
    r"\b(?:most|highest|best|top|biggest|largest|greatest|strongest|maximum|leading)\b"
)
TOP_N = re.compile(
    r"\b(?:top|best|worst|bottom|first)\s+(\d{1,3})\b|\b(\d{1,3})\s+(?:best|worst|top|highest|lowest)\b"
)

FLAGS: tuple[tuple[str, str], ...] = (
    (
        r"\bstuck\b|stall(?:ed|ing)?|not moving|(?:haven'?t|have not|hasn'?t|has not|didn'?t|not) (?:been )?(?:moved|changed|progressed)|stagnant|sitting idle|piling up|gathering dust",
        "stuck",
    ),
    (
        r"needs? (?:action|attention|follow[- ]?up)|untouched|not (?:yet )?contacted|waiting for (?:us|a response|response)|no response|uncontacted|(?:haven'?t|have not|not|never) (?:yet )?(?:been )?(?:followed up|responded|replied|contacted|touched|called)",
        "needs_action",
    ),
    (
        r"missing (?:info|information|data|details|fields?|contact)|missing (?:an? |their |the )?(?:email|phone|e-mail|deal value|company)|incomplete|without (?:an? )?(?:email|phone|deal value|company)|no (?:email|phone|deal value|company)|lacks? (?:an? )?(?:info|details|deal value|email|phone|company)|lacking",
        "missing_information",
    ),
)

STATUS_KINDS: tuple[tuple[str, str], ...] = (
    (r"\bwon\b|\bwin\b|closed[- ]won|converted leads|became customers", "won"),
    (r"\blost\b|\blose\b|\blosing\b|closed[- ]lost|dead leads", "lost"),
    (r"\bopen\b|in (?:the )?pipeline|active leads|progressing|in progress", "open"),
)

PARTNER_WORDS = re.compile(r"\bpartner(?:s|ship|ships)?\b")
CHANNEL_WORDS = re.compile(r"\bchannels?\b")
# "this channel" is the page's channel; "our partners" means all of them.
THIS_CHANNEL = re.compile(
    r"\b(?:this|the current|current) (?:channel|partnership|partner)\b|\bthis one\b"
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


# "stuck for more than 30 days", "sitting in a status over 3 weeks": another stuck threshold
STUCK_DAYS = re.compile(
    r"(?:stuck|sitting|waiting|idle|unchanged|not moved|in (?:the same )?(?:status|stage))"
    r"[^.?!]{0,20}?(?:for )?(?:more than|over|longer than|at least|>\s*)\s*(\d{1,3})\s*"
    r"(days?|weeks?|months?)",
    re.IGNORECASE,
)
LEAD_SORT: tuple[tuple[str, str], ...] = (
    (
        r"(?:by|highest|largest|biggest|top)\s+(?:\w+\s+)?deal(?:s| value| size)|biggest deals|largest deals|most valuable",
        "deal_value",
    ),
    (r"\boldest\b|longest ago|first (?:created|submitted)", "oldest"),
)
