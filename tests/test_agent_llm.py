"""LLM mode end to end over real loopback HTTP: the agent talks to a scripted
OpenAI-compatible stub (tests/openai_stub.py) and answers from the demo dataset.

Also the conversation memory across processes: two `keen ask` subprocesses share one thread.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.answer import Answer
from agent.grounding import numbers_in
from agent.memory import get_checkpointer
from agent.middleware import FALLBACK_NOTE
from agent.service import Assistant
from domain.db import get_engine
from domain.importer import load_dataset
from domain.settings import get_settings
from tests.datasets import demo_database
from tests.openai_stub import Reply, error_reply, openai_stub, text_reply, tool_call_reply
from web.testing import run_keen

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "evals" / "fixtures" / "demo"
TODAY = "2026-11-18"
QUESTION = "Which reward reports need attention?"
REPORTS_CALL = tool_call_reply("list_reward_reports", {"needs_attention": True})


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo dataset loaded once for the module (the tests only add conversation threads)."""
    return demo_database(tmp_path_factory.mktemp("demo") / "keen.db")


@pytest.fixture
def llm_env(demo_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Demo data, pinned today, a test API key and short waits; OPENAI_BASE_URL is per test."""
    monkeypatch.setenv("DATABASE_URL", demo_url)
    monkeypatch.setenv("KEEN_TODAY", TODAY)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.setenv("KEEN_LLM_TIMEOUT_S", "5")
    monkeypatch.setenv("KEEN_LLM_MAX_RETRIES", "2")
    get_checkpointer.cache_clear()  # its SQLite file lives in this test's KEEN_DATA_DIR
    yield monkeypatch
    get_checkpointer.cache_clear()


def ask_stub(monkeypatch: pytest.MonkeyPatch, base_url: str, question: str = QUESTION) -> Answer:
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    get_settings.cache_clear()
    return Assistant(model="openai:stub-model").ask(question)


def messages_of(request: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [m for m in request["messages"] if m["role"] == role]


def test_tool_call_then_answer_has_the_offline_answer_shape(llm_env: pytest.MonkeyPatch) -> None:
    # The demo has 7 reward reports needing attention (4 with rewards awaiting review in
    # Delta/Granite Oct-Nov, Harbor Sep, and 2 unpaid: Cobalt Sep, Delta Aug); the answer
    # uses only that count and Granite's November total, 5350.00 + 185.01 = 5535.01.
    final = "7 reward reports need attention; the largest is Granite Group's at USD 5,535.01."
    with openai_stub([REPORTS_CALL, text_reply(final)]) as stub:
        answer = ask_stub(llm_env, stub.base_url)
    assert answer.answer == final
    assert [(c.name, c.args) for c in answer.tool_calls] == [
        ("list_reward_reports", {"needs_attention": True})
    ]
    assert answer.data and answer.data[0].rows
    assert len(answer.data[0].rows) == 7
    assert answer.thread_id
    assert answer.grounded is True
    assert answer.model == "openai:stub-model"

    assert len(stub.requests) == 2
    first, second = stub.requests
    assert first["model"] == "stub-model"
    assert TODAY in messages_of(first, "system")[0]["content"]
    # only the schema the question needs is sent, and none once its result is in
    assert [t["function"]["name"] for t in first["tools"]] == ["list_reward_reports"]
    assert not second.get("tools")
    tool_results = messages_of(second, "tool")
    assert [m["tool_call_id"] for m in tool_results] == ["call_1"]
    assert json.loads(tool_results[0]["content"])["answer"]["needs_attention"] == 7


def test_an_unclear_question_gets_every_read_tool_and_no_action(
    llm_env: pytest.MonkeyPatch,
) -> None:
    with openai_stub([text_reply("Could you say which channel you mean?")]) as stub:
        ask_stub(llm_env, stub.base_url, "hmm, what about that thing from before?")
    sent = {t["function"]["name"] for t in stub.requests[0]["tools"]}
    assert {"find_leads", "list_rewards", "channel_performance"} <= sent
    assert "approve_rewards" not in sent and "mark_rewards_paid" not in sent


def test_a_429_is_retried_and_the_answer_arrives(llm_env: pytest.MonkeyPatch) -> None:
    script = [error_reply(429, {"Retry-After": "0"}), text_reply("Hello, ask me anything.")]
    with openai_stub(script) as stub:
        answer = ask_stub(llm_env, stub.base_url, "hello")
    assert answer.answer == "Hello, ask me anything."
    assert FALLBACK_NOTE not in answer.answer
    assert len(stub.requests) == 2  # the 429, then the retry the openai client made


@pytest.mark.parametrize(
    "reply",
    [Reply(message={"role": "assistant", "content": "late"}, delay_s=3.0), error_reply(500)],
)
def test_an_unreachable_provider_falls_back_to_the_offline_planner(
    llm_env: pytest.MonkeyPatch, reply: Reply
) -> None:
    llm_env.setenv("KEEN_LLM_TIMEOUT_S", "0.5")
    llm_env.setenv("KEEN_LLM_MAX_RETRIES", "1")
    started = time.monotonic()
    with openai_stub([reply]) as stub:
        answer = ask_stub(llm_env, stub.base_url)
    elapsed = time.monotonic() - started
    assert answer.answer.startswith(FALLBACK_NOTE)
    assert "7 reward reports need attention" in answer.answer
    assert [c.name for c in answer.tool_calls] == ["list_reward_reports"]
    assert answer.data and answer.grounded is True
    # Each model call of the turn (plan, then compose) tries twice: 2 calls x 2 attempts.
    assert len(stub.requests) == 4
    # 4 attempts x 0.5 s + 2 backoffs under 1 s each, plus the planner's first import on a slow
    # machine; the default 30 s timeout with 3 retries would take minutes.
    assert elapsed < 30


def test_the_grounding_guard_retries_then_falls_back_to_the_tables(
    llm_env: pytest.MonkeyPatch,
) -> None:
    # 99 and 98 appear nowhere in the tool result (7 reports; amounts like 750.00).
    script = [
        REPORTS_CALL,
        text_reply("99 reward reports need attention."),
        text_reply("Sorry: 98 reward reports need attention."),
    ]
    with openai_stub(script) as stub:
        answer = ask_stub(llm_env, stub.base_url)
    assert len(stub.requests) == 3
    retry_note = messages_of(stub.requests[2], "user")[-1]["content"]
    assert "stated numbers that no tool returned: 99" in retry_note
    assert messages_of(stub.requests[2], "assistant")[-1]["content"] == (
        "99 reward reports need attention."
    )
    assert answer.answer.startswith("I could not verify every figure")
    assert not {"99", "98"} & numbers_in(answer.answer)
    assert "rpt-granite-2026-11" in answer.answer  # the tool's table stands in for the prose
    assert answer.grounded is True  # the service re-checks the final text against the tools


def _keen_ask(env: dict[str, str], question: str) -> dict[str, Any]:
    done = run_keen(env, "ask", "--json", "--thread", "T-memory", question)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_thread_survives_a_restart_of_the_process(tmp_path: Path) -> None:
    data_dir = Path(os.environ["KEEN_DATA_DIR"])  # this test's folder (conftest)
    engine = get_engine()  # the SQLite file under KEEN_DATA_DIR, as `keen load` writes it
    load_dataset(engine, DEMO, "default")
    engine.dispose()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"}
    }
    env.update(KEEN_DATA_DIR=str(data_dir), KEEN_TODAY=TODAY, KEEN_MODEL="offline")

    first = _keen_ask(env, "How many leads did we get this month?")
    assert [(c["name"], c["args"]) for c in first["tool_calls"]] == [
        ("find_leads", {"period": "this month"})
    ]
    second = _keen_ask(env, "and last month?")  # a new process: only the checkpointer remembers
    assert second["thread_id"] == "T-memory"
    assert [(c["name"], c["args"]) for c in second["tool_calls"]] == [
        ("find_leads", {"period": "last month"})
    ]
    assert "2026-10-01 to 2026-10-31" in second["answer"]
    assert (data_dir / "conversations.db").exists()


# The section-8 questions with the ideal tool call a model would make (written by hand).
SECTION_8 = [
    ("Which reward reports need attention?", "list_reward_reports", {"needs_attention": True}),
    (
        "Which partners have the best conversion rate?",
        "channel_performance",
        {"group_by": "partner", "rank_by": "conversion_rate"},
    ),
    ("Where are leads getting stuck?", "lead_funnel", {}),
    (
        "Which channel generated the most revenue this month?",
        "channel_performance",
        {"rank_by": "revenue", "period": "this month"},
    ),
    (
        "Find partners with high lead volume but low conversion.",
        "find_patterns",
        {"pattern": "high_volume_low_conversion"},
    ),
    ("Help me improve this channel's performance.", "improvement_plan", {"channel": "this"}),
    ("Show me rewards that are approved but not paid.", "list_rewards", {"status": "approved"}),
]


@pytest.mark.parametrize(("question", "tool", "args"), SECTION_8)
def test_section_8_questions_through_chat_openai_have_the_offline_shape(
    llm_env: pytest.MonkeyPatch, question: str, tool: str, args: dict[str, Any]
) -> None:
    script = [tool_call_reply(tool, args), text_reply("Here is what I found; see the table.")]
    with openai_stub(script) as stub:
        llm_env.setenv("OPENAI_BASE_URL", stub.base_url)
        get_settings.cache_clear()
        answer = Assistant(model="openai:stub-model").ask(question, channel_id="ch-atlas")
    offline = Assistant(model="offline").ask(question, channel_id="ch-atlas")
    assert set(answer.model_dump()) == set(offline.model_dump())
    assert [(c.name, c.args) for c in answer.tool_calls] == [(tool, args)]
    assert answer.data and answer.data[0].rows, "the tool's table reaches the answer's data"
    assert answer.grounded and answer.thread_id and answer.model == "openai:stub-model"
    assert offline.tool_calls[0].name == tool  # both modes reach for the same tool
