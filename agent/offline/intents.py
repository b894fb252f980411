"""Intent recognition: nearest labelled examples (local embeddings) plus cue words.

MiniLM similarity alone does not separate paraphrases from unrelated questions with one
threshold, but ranking does: each intent scores the mean of its two nearest examples, and
cue words found in the question (a reward state means rewards) add to that score.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from agent.prompting import PROMPTS_DIR

# Cue words per intent: (regex, weight). Weights are added to the similarity score.
CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "reports_attention": (
        (
            r"reports?\b.{0,40}(attention|overdue|late|problem|issue|action|look at|looking at|check|deal with|follow up|flag)",
            0.6,
        ),
        (r"(attention|overdue|late).{0,40}\breports?\b", 0.6),
    ),
    "reports": ((r"\breports?\b", 0.35), (r"\b(rr|rep|report)-?\d+", 0.3)),
    "rewards": (
        (r"\brewards?\b|payouts?|commissions?|\bowe\b|\bowed\b|paid out|pay(?:ing)? partners", 0.3),
        (r"approved but not paid|outstanding|awaiting review|still to pay|unpaid", 0.2),
    ),
    "reward_explain": (
        (
            r"\bwhy\b.{0,60}(reward|amount|paid|get)|how (?:was|is|were).{0,40}calculat|explain.{0,30}reward",
            0.6,
        ),
    ),
    "triggers": (
        (
            r"trigger|reward (?:rules?|structure|scheme|setup|set-up)|commission (?:structure|rules?|scheme|setup|set-up|plan)|how do partners earn|earn (?:a )?rewards?|pay partners for|what do we pay|how much do we pay .{0,30}(?:when|for|per)|paid (?:per|for each)",
            0.6,
        ),
    ),
    "conversion_ranking": (
        (
            r"(?:best|worst|highest|lowest|rank|top|compare|which|who).{0,50}conver|conver\w*.{0,30}(?:best|worst|ranking|rank)",
            0.5,
        ),
    ),
    "metric_ranking": (
        (r"\b(?:which|who|rank|ranking|top|compare|most|least|highest|lowest|best|worst)\b", 0.15),
    ),
    "channel_metrics": (
        (
            r"perform|doing|numbers|metrics|kpis?|working|health|results|going on|how(?:'s| is) .{0,30}(?:going|looking)",
            0.25,
        ),
        (
            r"\btotal\b|overall|combined|altogether|across (?:all|every)|in total|sum of|all together",
            0.3,
        ),
    ),
    "stuck": (
        (
            r"where.{0,30}(?:stuck|stall|pil(?:e|ing) up)|bottleneck|funnel|distribution|which (?:status|stage)|(?:stage|status) has the most|pipeline look|by status|spread (?:across|over)|across (?:the )?(?:statuses|stages)",
            0.5,
        ),
    ),
    "patterns": (
        (
            r"pattern|quality|engag|bottleneck|roi|stopped sending|few leads but|high (?:lead )?volume",
            0.3,
        ),
    ),
    "improve": (
        (
            r"improv|better|\bfix\b|plan\b|recommend|diagnos|what should (?:we|i) do (?:with|for|to)|help.{0,20}(?:channel|partnership|performance)",
            0.5,
        ),
    ),
    "advice": (
        (
            r"what (?:should|can|do) (?:we|i) do (?:about|when|if)|how (?:do|can|should) (?:i|we) (?:get|handle|deal)|best practices?|tips?\b|advice",
            0.45,
        ),
    ),
    "leads": (
        (r"\bleads?\b", 0.2),
        (r"stuck leads|leads.{0,20}(?:need|missing|stuck|won|lost|owned|created|open|new)", 0.3),
    ),
    "lead_detail": ((r"\blead\s+#?[a-z]*-?\d+", 0.5),),
    "overview": (
        (
            r"integration|\bsync|lead form|form fields?|fields? on|pipeline statuses|what statuses|tell me about|which channels (?:do|are)|list (?:our |all )?(?:partner )?(?:partners|channels)|what channels|channels? (?:are |is )?(?:paused|archived|active)|(?:paused|archived) channels?|currenc(?:y|ies) (?:of|does|do)|with their currenc",
            0.45,
        ),
    ),
    "search": (
        (
            r"\bmention|talk(?:s|ing)? about|notes?\b|say(?:s)? about|search|\bwant(?:s)? an?\b|evaluat|asked about|ask(?:s|ing)? (?:about|for)|coming off|switching (?:from|away)|open to|interested in|complain|concern",
            0.6,
        ),
    ),
    "action": (
        (
            r"^(?:please |can you |could you |go ahead and )?(?:approve|reject|decline|mark|pay|move|record|flag|update|change|delete|set|create|add|remove)\b",
            0.8,
        ),
    ),
    "invent": (
        (
            r"estimate|predict|forecast|guess|make up|invent|projection|extrapolat|hypothetical|what if|would be if",
            0.8,
        ),
    ),
    "help": ((r"^(?:hi|hello|hey|help|what can you do|how does this work)\b", 0.5),),
    "out_of_scope": (),
}


@dataclass(frozen=True)
class IntentScore:
    intent: str
    score: float
    similarity: float


def _cached_embeddings(texts: tuple[str, ...]) -> Any:
    """The examples' vectors, kept on disk beside the data: a cold `keen ask` then embeds
    only its question. The file name is a hash of the texts, so edited examples re-embed."""
    import hashlib

    import numpy as np

    from domain.settings import get_settings

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = get_settings().keen_data_dir / "cache" / f"intent-examples-{digest}.npy"
    try:
        return np.load(path)
    except (OSError, ValueError):
        pass
    matrix = _embed(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, matrix)
        tmp.replace(path)  # atomic: a concurrent process never reads half a file
    except OSError:
        pass
    return matrix


@lru_cache(maxsize=512)
def _embed(texts: tuple[str, ...]) -> Any:
    """The offline planner always uses the local model (no network), cached per text."""
    from domain.semantic.embedder import local_embedder

    return local_embedder().embed(list(texts))


@lru_cache(maxsize=1)
def examples() -> dict[str, list[str]]:
    data = yaml.safe_load((PROMPTS_DIR / "intents.yaml").read_text(encoding="utf-8"))
    return {intent: [str(q) for q in questions] for intent, questions in data.items()}


class IntentClassifier:
    """Embeds the examples once per process; classifies one question in a few milliseconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._matrix: Any = None
        self._labels: list[str] = []

    def _ensure(self) -> None:
        with self._lock:
            if self._matrix is not None:
                return
            labels, texts = [], []
            for intent, questions in examples().items():
                labels.extend([intent] * len(questions))
                texts.extend(questions)
            self._matrix = _cached_embeddings(tuple(texts))
            self._labels = labels

    def similarities(self, question: str) -> dict[str, float]:
        """Per intent, the mean cosine similarity of its two nearest examples."""
        import numpy as np

        self._ensure()
        sims = self._matrix @ _embed((question,))[0]
        best: dict[str, list[float]] = {}
        for label, sim in zip(self._labels, sims.tolist(), strict=True):
            best.setdefault(label, []).append(sim)
        return {k: float(np.mean(sorted(v, reverse=True)[:2])) for k, v in best.items()}

    def rank(self, question: str, boosts: dict[str, float] | None = None) -> list[IntentScore]:
        text = question.lower()
        sims = self.similarities(question)
        scores = []
        for intent, sim in sims.items():
            cue = sum(w for pattern, w in CUES.get(intent, ()) if re.search(pattern, text))
            extra = (boosts or {}).get(intent, 0.0)
            scores.append(IntentScore(intent, sim + cue + extra, sim))
        return sorted(scores, key=lambda s: s.score, reverse=True)


@lru_cache(maxsize=1)
def classifier() -> IntentClassifier:
    return IntentClassifier()
