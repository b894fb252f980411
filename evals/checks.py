"""The checks one answer must pass: facts in the text, tool calls, forbidden content.

Each check is a small pure function of the answer (text and tool calls) and one expectation of
the case, returning a `Check` that says what was expected and what was found, so a failure in
the report reads on its own. Nothing here imports the code under test.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""


# ---- numbers -------------------------------------------------------------------------------

# Identifiers and dates are not figures: "lead-0303", "rw-0108", "2026-10-01", "10:15".
_NOT_FIGURES = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?Z?)?\b"
    r"|\b[A-Za-z]+(?:-[A-Za-z]+)*-\d+(?:-\d+)*\b"
    r"|\b\d{1,2}:\d{2}\b"
)
# A figure: optional sign, digits with optional thousands commas, optional decimals, optional %.
_FIGURE = re.compile(r"(?<![\w.])[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.,])[-−]?\d+(?:\.\d+)?")
# "1." at the start of a line is a list marker, not a figure.
_LIST_MARKER = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)

DEFAULT_TOLERANCE = Decimal("0.005")  # money to the cent; counts exactly


def figures(text: str) -> list[Decimal]:
    """Every figure of `text` as a Decimal (formatting removed: 1,250.00 → 1250.00)."""
    cleaned = _LIST_MARKER.sub(" ", _NOT_FIGURES.sub(" ", text))
    found = []
    for match in _FIGURE.finditer(cleaned):
        token = match.group(0).replace(",", "").replace("−", "-")
        try:
            found.append(Decimal(token))
        except InvalidOperation:
            continue
    return found


def _as_decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def check_numbers(text: str, expected: Sequence[Mapping[str, Any]]) -> list[Check]:
    """Each expected value appears in the text within its tolerance (sign ignored)."""
    found = [abs(f) for f in figures(text)]
    checks = []
    for item in expected:
        value = abs(_as_decimal(item["value"]))
        tolerance = _as_decimal(item.get("tolerance", DEFAULT_TOLERANCE))
        hit = any(abs(f - value) <= tolerance for f in found)
        checks.append(Check(f"number {item['value']}", hit, "" if hit else "not in the answer"))
    return checks


def _is_year(value: Decimal) -> bool:
    return value == value.to_integral_value() and 1990 <= value <= 2099


def check_no_numbers(text: str, question: str) -> Check:
    """No figure beyond dates and years, ids, list markers and the numbers the user wrote."""
    allowed = {abs(f) for f in figures(question)}
    extra = sorted(
        {str(f) for f in figures(text) if abs(f) not in allowed and not _is_year(abs(f))}
    )
    return Check("no numbers", not extra, f"found {', '.join(extra)}" if extra else "")


# ---- names, order, wording ----------------------------------------------------------------


def _norm_text(text: str) -> str:
    """Lower case, markdown emphasis and backticks removed, runs of spaces collapsed."""
    text = re.sub(r"[*_`]", "", text.lower()).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text)


def _alternatives(item: str | Sequence[str]) -> list[str]:
    return [item] if isinstance(item, str) else list(item)


def _find(text: str, item: str | Sequence[str], start: int = 0) -> int:
    """Index of the first alternative found at or after `start` in the normalised text, or -1."""
    positions = [text.find(_norm_text(alt), start) for alt in _alternatives(item)]
    positions = [p for p in positions if p >= 0]
    return min(positions) if positions else -1


def _label(item: str | Sequence[str]) -> str:
    return item if isinstance(item, str) else " | ".join(item)


def check_names(text: str, expected: Sequence[str | Sequence[str]]) -> list[Check]:
    """Each name (or one of its alternatives) appears, case-insensitively."""
    norm = _norm_text(text)
    return [
        Check(
            f"name {_label(item)}",
            _find(norm, item) >= 0,
            "" if _find(norm, item) >= 0 else "not in the answer",
        )
        for item in expected
    ]


def check_ordered(text: str, expected: Sequence[str | Sequence[str]]) -> Check:
    """The names appear in this order: each one somewhere after the previous one.

    A headline that names one of them first ("most stuck in Demo scheduled") does not break the
    order of the table that follows."""
    norm = _norm_text(text)
    missing = [_label(item) for item in expected if _find(norm, item) < 0]
    if missing:
        return Check("ordered", False, f"missing {', '.join(missing)}")
    position = 0
    for item in expected:
        found = _find(norm, item, position)
        if found < 0:
            shown = " < ".join(_label(i) for i in expected)
            return Check("ordered", False, f"not in the order {shown}")
        position = found + 1
    return Check("ordered", True)


def check_forbidden(text: str, forbidden: Sequence[str]) -> Check:
    norm = _norm_text(text)
    found = [item for item in forbidden if _norm_text(item) in norm]
    return Check("forbidden", not found, f"contains {', '.join(found)}" if found else "")


_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
PERIOD_MARKERS = re.compile(
    r"all[- ]time|\btoday\b|\byesterday\b|\b(?:this|last|previous|current) "
    r"(?:week|month|quarter|year)\b|\blast \d+ days\b|\bq[1-4]\b|\b\d{4}-\d{2}-\d{2}\b"
    rf"|\b(?:{_MONTHS})\b|\bsince\b|\bbetween\b|\b(?:19|20)\d{{2}}\b|\bperiod\b",
    re.IGNORECASE,
)


def check_says_period(text: str, expected: bool | str | Sequence[str]) -> Check:
    """`true`: some period wording; a string or list: one of these phrases appears."""
    if expected is True:
        ok = bool(PERIOD_MARKERS.search(text))
        return Check("says period", ok, "" if ok else "no period stated")
    if expected is False:
        return Check("says period", True)
    alternatives = _alternatives(expected)  # type: ignore[arg-type]
    ok = _find(_norm_text(text), alternatives) >= 0
    return Check("says period", ok, "" if ok else f"none of {_label(alternatives)}")


# Documented in evals/README.md: wording that asks the user for what is missing. A clarifying
# answer has one of these AND a question mark.
CLARIFY_MARKERS = (
    r"which (?:\w+ ){0,2}(?:do|did) you (?:mean|want)",
    r"\b(?:do|did) you mean\b",
    r"\bcould you (?:clarify|specify|tell me|say|give)",
    r"\bcan you (?:clarify|specify|tell me|be more specific|give)",
    r"\bplease (?:specify|clarify|tell me|name)",
    r"\bnot sure (?:what|which)\b",
    r"\bname it\b",
    r"\bgive me (?:its|the|an?) id\b",
    r"\bwhich (?:\w+ ){0,2}should i\b",
    r"\bwhat do you mean\b",
    r"\bmore specific\b",
)
# Documented in evals/README.md: wording that declines what was asked.
REFUSAL_MARKERS = (
    r"\bcan't\b",
    r"\bcannot\b",
    r"\bcan not\b",
    r"\bwon't\b",
    r"\bwill not\b",
    r"\bunable to\b",
    r"\bnot able to\b",
    r"\bnot allowed\b",
    r"\bnot permitted\b",
    r"\bno permission\b",
    r"\b(?:don't|do not) have (?:the )?(?:permission|access|rights?)\b",
    r"\bonly (?:state|give|report|use) (?:figures|numbers)\b",
    r"\bi only answer\b",
    r"\boutside (?:of )?what i can\b",
    r"\bout(?:side)? (?:of )?(?:my )?scope\b",
    r"\bnot something i can\b",
    r"\bread-only\b",
    r"\bnot possible\b",
    r"\brefuse",
    r"\bcan only (?:see|access|show|read|answer|help)\b",
    r"\bonly (?:see|access) your\b",
)


def _has_marker(text: str, markers: Iterable[str]) -> str | None:
    norm = _norm_text(text).replace("\u2019", "'")
    for marker in markers:
        found = re.search(marker, norm)
        if found:
            return found.group(0)
    return None


def check_clarifies(text: str, expected: bool) -> Check:
    marker = _has_marker(text, CLARIFY_MARKERS)
    asks = marker is not None and "?" in text
    if expected:
        return Check("clarifies", asks, "" if asks else "asks no clarifying question")
    return Check("does not clarify", not asks, f"asks back ({marker!r})" if asks else "")


def check_refuses(text: str, expected: bool) -> Check:
    marker = _has_marker(text, REFUSAL_MARKERS)
    if expected:
        return Check("refuses", marker is not None, "" if marker else "no refusal wording")
    return Check("does not refuse", marker is None, f"refuses ({marker!r})" if marker else "")


# ---- tool calls -----------------------------------------------------------------------------


@dataclass
class Directory:
    """Channel and partner names and ids of one organization, to compare scope arguments."""

    channels: dict[str, str] = field(default_factory=dict)  # ext id → name
    partners: dict[str, str] = field(default_factory=dict)  # ext id → name
    channel_partner: dict[str, str] = field(default_factory=dict)  # channel id → partner id

    def _resolve(self, value: Any, names: Mapping[str, str]) -> set[str]:
        text = _norm_text(str(value)).strip()
        exact = {i for i, n in names.items() if text in (i.lower(), n.lower())}
        if exact or len(text) < 3:
            return exact
        return {i for i, n in names.items() if text in n.lower() or n.lower() in text}

    def channels_of(self, key: str, value: Any, page_channel: str | None) -> set[str]:
        """The channel ids a `channel` or `partner` argument stands for."""
        if key == "channel":
            if _norm_text(str(value)).strip() in ("this", "this channel") and page_channel:
                return {page_channel}
            return self._resolve(value, self.channels)
        partners = self._resolve(value, self.partners)
        return {c for c, p in self.channel_partner.items() if p in partners}


SCOPE_KEYS = ("channel", "partner")


def _same_value(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        truthy = {"true", "yes", "1"}
        return (str(expected).lower() in truthy) == (str(actual).lower() in truthy)
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        try:
            return Decimal(str(expected)) == Decimal(str(actual))
        except InvalidOperation:
            return False

    def norm(v: Any) -> str:
        return _norm_text(str(v).replace("_", " ")).strip()

    return norm(expected) == norm(actual)


def _arg_matches(
    key: str,
    expected: Any,
    call_args: Mapping[str, Any],
    directory: Directory,
    page_channel: str | None,
) -> bool:
    alternatives = expected if isinstance(expected, list) else [expected]
    if key in SCOPE_KEYS:
        # A channel may be named as itself or as its one-channel partner, and the reverse.
        for alt in alternatives:
            wanted = directory.channels_of(key, alt, page_channel)
            for actual_key in SCOPE_KEYS:
                if (
                    actual_key in call_args
                    and wanted
                    and wanted
                    == directory.channels_of(actual_key, call_args[actual_key], page_channel)
                ):
                    return True
        return False
    if key not in call_args:
        return False
    return any(_same_value(alt, call_args[key]) for alt in alternatives)


def check_tools(
    calls: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, Any]],
    directory: Directory,
    page_channel: str | None = None,
) -> list[Check]:
    """Subset mode: each expected call is made with at least these arguments (more is fine).

    `name` may be a list: any of these tools, called with the arguments, satisfies it."""
    checks = []
    for want in expected:
        names = _alternatives(want["name"])
        name = " | ".join(names)
        args = want.get("args") or {}
        wanted_names = {n.lower() for n in names}
        same_name = [c for c in calls if str(c.get("name", "")).lower() in wanted_names]
        hit = any(
            all(
                _arg_matches(k, v, c.get("args") or {}, directory, page_channel)
                for k, v in args.items()
            )
            for c in same_name
        )
        label = f"tool {name}({', '.join(f'{k}={v}' for k, v in args.items())})"
        if hit:
            checks.append(Check(label, True))
        elif same_name:
            made = "; ".join(str(c.get("args") or {}) for c in same_name)
            checks.append(Check(label, False, f"called with {made}"))
        else:
            made = ", ".join(str(c.get("name")) for c in calls) or "no tool"
            checks.append(Check(label, False, f"called {made}"))
    return checks


def check_forbidden_tools(calls: Sequence[Mapping[str, Any]], patterns: Sequence[str]) -> Check:
    bad = [
        str(c.get("name"))
        for c in calls
        if any(fnmatch.fnmatch(str(c.get("name", "")).lower(), p.lower()) for p in patterns)
    ]
    return Check("forbidden tools", not bad, f"called {', '.join(bad)}" if bad else "")


# ---- one turn -------------------------------------------------------------------------------


def check_turn(
    expect: Mapping[str, Any],
    question: str,
    text: str,
    calls: Sequence[Mapping[str, Any]],
    directory: Directory,
    page_channel: str | None = None,
) -> list[Check]:
    """Every expectation of one turn, in a stable order."""
    checks: list[Check] = []
    steps: list[tuple[str, Callable[[Any], list[Check] | Check]]] = [
        ("tools", lambda v: check_tools(calls, v, directory, page_channel)),
        ("forbidden_tools", lambda v: check_forbidden_tools(calls, v)),
        ("numbers", lambda v: check_numbers(text, v)),
        ("names", lambda v: check_names(text, v)),
        ("ordered", lambda v: check_ordered(text, v)),
        ("says_period", lambda v: check_says_period(text, v)),
        ("clarifies", lambda v: check_clarifies(text, v)),
        ("refuses", lambda v: check_refuses(text, v)),
        ("no_numbers", lambda v: check_no_numbers(text, question) if v else []),
        ("forbidden", lambda v: check_forbidden(text, v)),
    ]
    for key, run in steps:
        if key in expect and expect[key] is not None:
            outcome = run(expect[key])
            checks.extend(outcome if isinstance(outcome, list) else [outcome])
    return checks
