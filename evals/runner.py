"""Runs eval cases through the assistant and records what happened, turn by turn.

The assistant is anything with `ask(question, asker, thread_id=..., channel_id=..., today=...)`
returning an object with `answer`, `tool_calls`, `thread_id` and `grounded` (agent/service.py),
so tests can pass a stub. `eval_environment` gives real runs a throw-away data folder with the
demo fixture loaded as organization "default" and the other organization as "rival".
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from evals.casefile import ORGS, Case
from evals.checks import Check, Directory, check_turn
from evals.sql import FIXTURES

EVAL_USER = "eval"
WARM_UP_QUESTION = "Which channels do we have?"


class AssistantLike(Protocol):
    def ask(
        self,
        question: str,
        asker: Any,
        thread_id: str | None = None,
        channel_id: str | None = None,
        today: Any = None,
    ) -> Any: ...


@dataclass
class TurnOutcome:
    question: str
    answer: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    grounded: bool | None = None
    latency_s: float = 0.0
    checks: list[Check] = field(default_factory=list)
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[str]:
        failed = [
            f"{c.name}: {c.detail}" if c.detail else c.name for c in self.checks if not c.passed
        ]
        return ([f"error: {self.error}"] if self.error else []) + failed


@dataclass
class CaseOutcome:
    """One case, run `repeat` times; `passed` is pass^k: every run passed."""

    case: Case
    runs: list[list[TurnOutcome]] = field(default_factory=list)

    @property
    def run_results(self) -> list[bool]:
        return [all(t.passed for t in run) for run in self.runs]

    @property
    def passed(self) -> bool:
        return bool(self.runs) and all(self.run_results)

    @property
    def pass_rate(self) -> float:
        results = self.run_results
        return sum(results) / len(results) if results else 0.0

    @property
    def turns(self) -> list[TurnOutcome]:
        return [t for run in self.runs for t in run]


@dataclass
class SuiteResult:
    outcomes: list[CaseOutcome]
    model: str
    repeat: int
    started_at: datetime
    duration_s: float


# ---- organizations' names, for comparing channel and partner arguments --------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def directory_for(org: str) -> Directory:
    """Channel and partner names and ids of one organization's fixture folder."""
    folder = FIXTURES / ORGS[org]
    channels = _rows(folder / "channels.csv")
    partners = _rows(folder / "partners.csv")
    return Directory(
        channels={c["id"]: c["name"] for c in channels},
        partners={p["id"]: p["name"] for p in partners},
        channel_partner={c["id"]: c["partner_id"] for c in channels},
    )


# ---- one case -------------------------------------------------------------------------------


def _calls(answer: Any) -> list[dict[str, Any]]:
    calls = []
    for call in getattr(answer, "tool_calls", None) or []:
        if isinstance(call, Mapping):
            calls.append({"name": call.get("name"), "args": dict(call.get("args") or {})})
        else:
            calls.append({"name": call.name, "args": dict(call.args or {})})
    return calls


def _usage_from_answer(answer: Any) -> tuple[int, int] | None:
    """Token usage when the answer carries it (`answer.usage`), else None.

    TODO(agent): Answer has no usage field yet; until it does, model runs count tokens with
    LangChain's usage callback around each question (see `_ask`).
    """
    usage = getattr(answer, "usage", None)
    if not usage:
        return None
    get = usage.get if isinstance(usage, Mapping) else lambda k, d=0: getattr(usage, k, d)
    return (
        int(get("prompt_tokens", 0) or get("input_tokens", 0) or 0),
        int(get("completion_tokens", 0) or get("output_tokens", 0) or 0),
    )


@contextmanager
def _token_counter() -> Iterator[Callable[[], tuple[int, int]]]:
    """Counts the chat models' tokens of the calls made inside the block (0 offline)."""
    from langchain_core.callbacks import get_usage_metadata_callback

    with get_usage_metadata_callback() as callback:

        def totals() -> tuple[int, int]:
            usage = callback.usage_metadata.values()
            return (
                sum(u.get("input_tokens", 0) for u in usage),
                sum(u.get("output_tokens", 0) for u in usage),
            )

        yield totals


def _ask(
    assistant: AssistantLike,
    question: str,
    asker: Any,
    thread_id: str | None,
    channel_id: str | None,
    case: Case,
) -> tuple[Any, float, tuple[int, int]]:
    with _token_counter() as tokens:
        started = time.perf_counter()
        answer = assistant.ask(
            question, asker, thread_id=thread_id, channel_id=channel_id, today=case.today
        )
        latency = time.perf_counter() - started
        counted = tokens()
    return answer, latency, _usage_from_answer(answer) or counted


def run_case(
    assistant: AssistantLike,
    case: Case,
    make_asker: Callable[[Case], Any],
    directory: Directory,
) -> list[TurnOutcome]:
    """Every turn of the case in one thread; a failing turn does not stop the next ones."""
    outcomes: list[TurnOutcome] = []
    thread_id: str | None = None
    asker = make_asker(case)
    for turn in case.turns:
        outcome = TurnOutcome(question=turn.question)
        try:
            answer, latency, (prompt, completion) = _ask(
                assistant, turn.question, asker, thread_id, turn.channel_id, case
            )
        except Exception as exc:  # a crash is a failed turn, not a failed run
            outcome.error = f"{type(exc).__name__}: {exc}"
            outcomes.append(outcome)
            continue
        thread_id = getattr(answer, "thread_id", None) or thread_id
        outcome.answer = str(getattr(answer, "answer", "") or "")
        outcome.tool_calls = _calls(answer)
        grounded = getattr(answer, "grounded", None)
        outcome.grounded = grounded if isinstance(grounded, bool) else None
        outcome.latency_s = latency
        outcome.prompt_tokens, outcome.completion_tokens = prompt, completion
        outcome.checks = check_turn(
            turn.expect,
            turn.question,
            outcome.answer,
            outcome.tool_calls,
            directory,
            turn.channel_id,
        )
        outcomes.append(outcome)
    return outcomes


def real_asker(case: Case) -> Any:
    """The agent's Asker for a case (imported late: the agent is heavy to import)."""
    from agent.service import Asker

    return Asker(org_slug=case.org, user=EVAL_USER, role=case.role, surface="eval")


def run_cases(
    assistant: AssistantLike,
    cases: Sequence[Case],
    *,
    model: str = "offline",
    repeat: int = 1,
    make_asker: Callable[[Case], Any] = real_asker,
    on_case_done: Callable[[CaseOutcome], None] | None = None,
) -> SuiteResult:
    """Run every case `repeat` times (each run in a fresh thread) and collect the outcomes."""
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    directories = {org: directory_for(org) for org in {c.org for c in cases}}
    outcomes = []
    for case in cases:
        outcome = CaseOutcome(case)
        for _ in range(repeat):
            outcome.runs.append(run_case(assistant, case, make_asker, directories[case.org]))
        outcomes.append(outcome)
        if on_case_done:
            on_case_done(outcome)
    return SuiteResult(outcomes, model, repeat, started_at, time.perf_counter() - started)


# ---- the real environment -------------------------------------------------------------------

_ENV_VARS = ("KEEN_DATA_DIR", "DATABASE_URL", "KEEN_MODEL", "KEEN_TODAY")


def _clear_caches() -> None:
    """Settings, engines and conversation memory are cached per process: start them afresh."""
    from domain.db import get_engine
    from domain.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    try:
        from agent.memory import get_checkpointer
        from agent.offline.catalog import invalidate_catalog
    except ImportError:  # the agent may not import while it is being built
        return
    get_checkpointer.cache_clear()
    invalidate_catalog()


def load_fixtures() -> None:
    """The demo fixture as organization "default", the other one as "rival"."""
    from cli.loading import after_load
    from domain.db import get_engine
    from domain.importer import load_dataset

    engine = get_engine()
    for org, folder in ORGS.items():
        load_dataset(engine, FIXTURES / folder, org)
        after_load(org)


@contextmanager
def eval_environment(model: str, data_dir: Path | None = None) -> Iterator[Path]:
    """A temporary data folder (SQLite) with both fixtures loaded; the environment is
    restored afterwards, so the user's own database is never touched."""
    saved = {name: os.environ.get(name) for name in _ENV_VARS}
    with tempfile.TemporaryDirectory(prefix="keen-eval-") as tmp:
        folder = data_dir or Path(tmp)
        os.environ["KEEN_DATA_DIR"] = str(folder)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'keen.db'}"
        os.environ["KEEN_MODEL"] = model
        os.environ.pop("KEEN_TODAY", None)
        _clear_caches()
        try:
            load_fixtures()
            yield folder
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            _clear_caches()


def real_assistant(model: str) -> AssistantLike:
    from agent.service import Assistant

    return Assistant(model)


def warm_up(assistant: AssistantLike, today: Any) -> None:
    """One untimed question, so loading the embedding model is not counted as latency."""
    from agent.service import Asker

    try:
        assistant.ask(WARM_UP_QUESTION, Asker(org_slug="default", user=EVAL_USER), today=today)
    except Exception:  # the cases will show the error
        return
