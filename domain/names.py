"""Fuzzy resolution of channel and partner names, as people type them.

`resolve_channel` / `resolve_partner` turn what a user (or a model) wrote into one entity —
or, when two are about as likely, into the candidates to choose from, never a guess.
`find_channel_mentions` spots names inside a whole question for the offline planner.
Names are cached per organization and re-read when they change (or on `invalidate_names`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import Channel, Partner

EntityKind = Literal["channel", "partner"]

MATCH_SCORE = 80.0  # resolve: a fuzzy score this high is a match
CLOSE_MARGIN = 5.0  # resolve: candidates this close to the best are ambiguous
SUGGEST_SCORE = 50.0  # resolve: below this, not even a suggestion
MENTION_NAME_SCORE = 85.0  # mentions: a multi-word name inside a question
EDGE_WORD_SCORE = 75.0  # mentions: a multi-word match must start and end on words of the name
MENTION_WORD_SCORE = 85.0  # mentions: one distinctive word of 6+ letters (shorter: exact)


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that say what something is rather than which one: never enough to name an entity.
GENERIC = _vocabulary(
    """
    the a an and of for to in on at by with my our your this that these those
    channel channels partner partners partnership partnerships program programme
    referral referrals affiliate affiliates reseller resellers agency agencies
    inc llc ltd gmbh co corp company companies group
    """
)
# Everyday and business words a question uses: a name starting with one of them is only
# recognised in full ("Growth Labs"), never by its first word ("growth opportunity").
COMMON = GENERIC | _vocabulary(
    """
    which what who how when where why show list give find tell me is are was were has have
    most best top worst highest lowest more less all any each every new old open first last
    lead leads revenue reward rewards report reports status deal deals won lost conversion
    rate volume value quality growth sales marketing performance pipeline month week year
    quarter today yesterday data cloud tech digital global local national international
    united general north south east west blue red green black white smart bright prime next
    big great good one true direct pro plus solutions services systems software consulting
    capital ventures network media labs studio health home
    """
)


@dataclass(frozen=True)
class NamedEntity:
    kind: EntityKind
    id: int
    ext_id: str
    name: str
    partner_id: int | None = None  # channels: whose channel it is
    status: str | None = None  # channels: active / paused / archived


@dataclass(frozen=True)
class Candidate:
    entity: NamedEntity
    score: float  # 0–100
    how: str  # "ext_id", "name", "words" or "fuzzy"


@dataclass(frozen=True)
class Resolution:
    """What a name resolved to: one `match`, or `candidates` (ambiguous / suggestions)."""

    query: str
    match: NamedEntity | None
    candidates: tuple[Candidate, ...]

    @property
    def status(self) -> Literal["found", "ambiguous", "not_found"]:
        if self.match is not None:
            return "found"
        close = self.candidates and self.candidates[0].score >= MATCH_SCORE
        return "ambiguous" if close else "not_found"

    @property
    def how(self) -> str | None:
        return self.candidates[0].how if self.match is not None else None


@dataclass(frozen=True)
class Mention:
    entity: NamedEntity
    span: tuple[int, int]
    text: str
    score: float
    how: str


# --- normalising -------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\w[\w&'’-]*")


def _norm_word(word: str) -> str:
    word = word.casefold()
    for suffix in ("'s", "’s"):
        word = word.removesuffix(suffix)
    return word.strip("'’-")


def _words(text: str) -> list[str]:
    return [w for w in (_norm_word(m.group(0)) for m in _WORD_RE.finditer(text)) if w]


def _norm(text: str) -> str:
    return " ".join(_words(text))


def _strip_generic(words: Sequence[str]) -> list[str]:
    """ "the Atlas channel" → ["atlas"]: generic words at either end say nothing about which."""
    start, end = 0, len(words)
    while start < end and words[start] in GENERIC:
        start += 1
    while end > start and words[end - 1] in GENERIC:
        end -= 1
    return list(words[start:end])


# --- the per-organization index -------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    entity: NamedEntity
    words: tuple[str, ...]
    norm: str
    core: str  # the name without generic words at its ends ("Beacon Partners" → "beacon")


@dataclass(frozen=True)
class _Index:
    fingerprint: tuple[object, ...]
    entries: dict[EntityKind, tuple[_Entry, ...]]
    _keys_by_kinds: dict[tuple[EntityKind, ...], _MentionKeys] = field(default_factory=dict)

    def mention_keys(self, kinds: tuple[EntityKind, ...]) -> _MentionKeys:
        if kinds not in self._keys_by_kinds:
            self._keys_by_kinds[kinds] = _mention_keys(e for k in kinds for e in self.entries[k])
        return self._keys_by_kinds[kinds]


_CACHE: dict[int, _Index] = {}


def invalidate_names(org_id: int | None = None) -> None:
    """Forget cached names of one organization (after an import or a rename), or of all."""
    if org_id is None:
        _CACHE.clear()
    else:
        _CACHE.pop(org_id, None)


def _fingerprint(session: Session, org_id: int) -> tuple[object, ...]:
    """A cheap summary that changes when channels or partners are added, removed or renamed
    (mostly; `invalidate_names` covers the rest), and differs between databases."""
    summary: list[object] = [id(session.get_bind())]
    for model in (Channel, Partner):
        stmt = select(
            func.count(model.id),
            func.max(model.id),
            func.sum(func.length(model.name)),
            func.sum(func.length(model.ext_id)),
        ).where(model.org_id == org_id)
        summary.extend(session.execute(stmt).one())
    return tuple(summary)


def _entry(entity: NamedEntity) -> _Entry:
    words = tuple(_words(entity.name))
    return _Entry(entity, words, " ".join(words), " ".join(_strip_generic(words)))


def _index(session: Session, org_id: int) -> _Index:
    fingerprint = _fingerprint(session, org_id)
    cached = _CACHE.get(org_id)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    channels = session.execute(
        select(Channel.id, Channel.ext_id, Channel.name, Channel.partner_id, Channel.status)
        .where(Channel.org_id == org_id)
        .order_by(Channel.name, Channel.id)
    )
    partners = session.execute(
        select(Partner.id, Partner.ext_id, Partner.name)
        .where(Partner.org_id == org_id)
        .order_by(Partner.name, Partner.id)
    )
    index = _Index(
        fingerprint,
        {
            "channel": tuple(_entry(NamedEntity("channel", *row)) for row in channels),
            "partner": tuple(_entry(NamedEntity("partner", *row)) for row in partners),
        },
    )
    _CACHE[org_id] = index
    return index


# --- resolving one name --------------------------------------------------------------------------


def _found(query: str, entries: Sequence[_Entry], how: str, score: float = 100.0) -> Resolution:
    """One entry is a match; several equally good ones are ambiguous."""
    candidates = tuple(Candidate(e.entity, score, how) for e in entries)
    match = entries[0].entity if len(entries) == 1 else None
    return Resolution(query, match, candidates)


def _words_match(query: Sequence[str], name: Sequence[str]) -> int | None:
    """Where the query's words run inside the name's words (the last may be a prefix of 3+
    letters: "atl adv" no, "atlas adv" yes), or None."""
    n = len(query)
    for i in range(len(name) - n + 1):
        window = name[i : i + n]
        if all(q == w for q, w in zip(query[:-1], window[:-1], strict=True)) and (
            window[-1] == query[-1] or (len(query[-1]) >= 3 and window[-1].startswith(query[-1]))
        ):
            return i
    return None


def _fuzzy_score(query: str, core: str, e: _Entry) -> float:
    keys = {e.norm, e.core, e.words[0] if e.words else ""} - {""}
    return max(fuzz.ratio(q, k) for q in {query, core} - {""} for k in keys)


def _resolve(query: str, entries: Sequence[_Entry]) -> Resolution:
    raw = query.strip()
    if not raw or not entries:
        return Resolution(query, None, ())
    for same in (
        lambda e: e.entity.ext_id == raw,
        lambda e: e.entity.ext_id.casefold() == raw.casefold(),
    ):
        hits = [e for e in entries if same(e)]
        if hits:
            return _found(query, hits, "ext_id")
    words = _words(raw)
    norm, core_words = " ".join(words), _strip_generic(words)
    core = " ".join(core_words)
    for key in dict.fromkeys((norm, core)):
        hits = [e for e in entries if key and key in (e.norm, e.core)]
        if hits:
            return _found(query, hits, "name")
    if core_words and not all(w in COMMON for w in core_words):
        placed = [
            (pos, e) for e in entries if (pos := _words_match(core_words, e.words)) is not None
        ]
        if placed:
            at_start = [e for pos, e in placed if pos == 0]
            return _found(query, at_start or [e for _, e in placed], "words")
    scored = sorted(((_fuzzy_score(norm, core, e), e) for e in entries), key=lambda p: -p[0])
    best = scored[0][0]
    if best >= MATCH_SCORE:
        close = [e for s, e in scored if s >= MATCH_SCORE and best - s < CLOSE_MARGIN]
        candidates = tuple(Candidate(e.entity, s, "fuzzy") for s, e in scored[: len(close)])
        match = close[0].entity if len(close) == 1 else None
        return Resolution(query, match, candidates)
    suggestions = tuple(
        Candidate(e.entity, s, "fuzzy") for s, e in scored[:3] if s >= SUGGEST_SCORE
    )
    return Resolution(query, None, suggestions)


def resolve_channel(session: Session, org_id: int, text: str) -> Resolution:
    """A channel by ext_id, exact name, leading words ("atlas") or a near spelling."""
    return _resolve(text, _index(session, org_id).entries["channel"])


def resolve_partner(session: Session, org_id: int, text: str) -> Resolution:
    """A partner by ext_id, exact name, leading words or a near spelling."""
    return _resolve(text, _index(session, org_id).entries["partner"])


# --- names inside a question -------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    word: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(w, m.start(), m.end())
        for m in _WORD_RE.finditer(text)
        if (w := _norm_word(m.group(0)))
    ]


def _edges_in_name(gram: Sequence[str], name: Sequence[str]) -> bool:
    """The n-gram starts and ends with (near) words of the name: "vs beacon partners" is not
    a spelling of "Beacon Partners", only "beacon partners" is."""
    return all(max(fuzz.ratio(w, n) for n in name) >= EDGE_WORD_SCORE for w in (gram[0], gram[-1]))


@dataclass(frozen=True)
class _MentionKeys:
    """What a question's words are compared with, prepared once per cached index."""

    ext_ids: dict[str, list[_Entry]]
    phrases: list[str]  # multi-word names (and their cores), for fuzzy n-gram matching
    phrase_entries: list[_Entry]
    words: dict[str, list[_Entry]]  # distinctive one-word keys: a name's first word, or itself
    long_words: list[str]  # the one-word keys long enough for typo tolerance


def _mention_keys(entries: Iterable[_Entry]) -> _MentionKeys:
    keys = _MentionKeys({}, [], [], {}, [])
    for e in entries:
        keys.ext_ids.setdefault(e.entity.ext_id.casefold(), []).append(e)
        if len(e.words) >= 2:
            for phrase in dict.fromkeys(p for p in (e.norm, e.core) if " " in p):
                keys.phrases.append(phrase)
                keys.phrase_entries.append(e)
        word = e.words[0] if e.words else ""
        if len(word) >= 3 and word not in COMMON:
            keys.words.setdefault(word, []).append(e)
    keys.long_words.extend(w for w in keys.words if len(w) >= 6)
    return keys


def _gram_matches(gram: Sequence[str], keys: _MentionKeys) -> dict[int, tuple[float, str, _Entry]]:
    """Entries an n-gram of the question names, by id(entry): (score, how, entry)."""
    text = " ".join(gram)
    found: dict[int, tuple[float, str, _Entry]] = {}

    def add(e: _Entry, score: float, how: str) -> None:
        if id(e) not in found or found[id(e)][0] < score:
            found[id(e)] = (score, how, e)

    for e in keys.ext_ids.get(text, []):
        add(e, 100.0, "ext_id")
    if all(w in COMMON for w in gram):
        return found
    if len(gram) >= 2:
        hits = process.extract(
            text, keys.phrases, scorer=fuzz.ratio, score_cutoff=MENTION_NAME_SCORE, limit=None
        )
        for _, score, i in hits:
            e = keys.phrase_entries[i]
            if _edges_in_name(gram, e.words):
                add(e, score, "name" if score == 100 else "fuzzy")
        return found
    for e in keys.words.get(text, []):
        add(e, 100.0, "words")
    hits = process.extract(
        text, keys.long_words, scorer=fuzz.ratio, score_cutoff=MENTION_WORD_SCORE, limit=None
    )
    for word, score, _ in hits:
        for e in keys.words[word]:
            add(e, score, "fuzzy")
    return found


def find_channel_mentions(
    session: Session,
    org_id: int,
    text: str,
    kinds: Iterable[EntityKind] = ("channel", "partner"),
) -> list[Mention]:
    """Channel and partner names inside a question, with their character spans, in order.

    Longer and better matches win overlapping spans; when several entities match the same
    words equally well ("Beacon" with two Beacon channels, or a channel and its partner of
    the same name), each is returned with that span and the caller decides."""
    tokens = _tokens(text)
    index = _index(session, org_id)
    kinds = tuple(kinds)
    all_entries = [e for kind in kinds for e in index.entries[kind]]
    if not tokens or not all_entries:
        return []
    keys = index.mention_keys(kinds)
    longest = max(len(e.words) for e in all_entries) + 1
    found: list[tuple[int, float, int, int, _Entry, str]] = []
    for n in range(1, min(longest, len(tokens)) + 1):
        for i in range(len(tokens) - n + 1):
            gram = [t.word for t in tokens[i : i + n]]
            for score, how, e in _gram_matches(gram, keys).values():
                found.append((n, score, i, i + n, e, how))
    found.sort(key=lambda f: (-f[0], -f[1], f[2], f[4].entity.kind, f[4].entity.name))
    chosen: list[tuple[int, int, float, Mention]] = []
    seen: set[tuple[str, int]] = set()
    for _, score, i, j, e, how in found:
        key = (e.entity.kind, e.entity.id)
        if key in seen:
            continue
        clash = [c for c in chosen if c[0] < j and i < c[1]]
        if any(c[0] != i or c[1] != j or c[2] != score for c in clash):
            continue
        span = (tokens[i].start, tokens[j - 1].end)
        chosen.append((i, j, score, Mention(e.entity, span, text[span[0] : span[1]], score, how)))
        seen.add(key)
    return [c[3] for c in sorted(chosen, key=lambda c: (c[3].span, c[3].entity.kind))]
