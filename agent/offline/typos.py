"""Typo repair for the words the planner keys on ("reprots" → "reports"), before parsing.

Only words close to a small domain vocabulary are touched, so names and ids pass unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz, process

DOMAIN_WORDS = (
    "reports",
    "report",
    "rewards",
    "reward",
    "leads",
    "channels",
    "channel",
    "partners",
    "partner",
    "partnership",
    "conversion",
    "convert",
    "revenue",
    "stuck",
    "approved",
    "approval",
    "waiting",
    "pending",
    "attention",
    "triggers",
    "trigger",
    "pipeline",
    "funnel",
    "commission",
    "commissions",
    "integrations",
    "integration",
    "performance",
    "performing",
    "improve",
    "outstanding",
    "awaiting",
    "review",
    "rejected",
    "missing",
    "information",
    "average",
    "volume",
    "payout",
    "payouts",
    "quarter",
    "month",
    "status",
    "statuses",
    "bottleneck",
    "which",
    "highest",
    "lowest",
    "between",
    "yesterday",
    "mention",
    "competitor",
    # words close to the ones above that must stay as written
    "approve",
    "reject",
    "rejects",
    "report",
    "reporting",
    "revenues",
    "channeled",
    "partnered",
    "months",
    "quarters",
    "stages",
    "reviews",
    "reviewed",
    "mentions",
    "rewarding",
    "integrate",
    "triggered",
    "missed",
    "missing",
    "leaders",
    "leading",
)
WORD = re.compile(r"[A-Za-z]{5,}")


@lru_cache(maxsize=4096)
def _repair(word: str) -> str:
    lowered = word.lower()
    if lowered in DOMAIN_WORDS:
        return word
    match = process.extractOne(lowered, DOMAIN_WORDS, scorer=fuzz.ratio, score_cutoff=84)
    if match is None or match[0][0] != lowered[0]:
        return word
    return match[0]


def repair_typos(text: str) -> str:
    return WORD.sub(lambda m: _repair(m.group(0)), text)
