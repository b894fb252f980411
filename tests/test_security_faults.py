"""Provider faults (issue #9, part 3): a real `keen serve` in `openai:` mode talks to a local
OpenAI-compatible stub that misbehaves on purpose: timeouts, 429 with Retry-After, 5xx, a
malformed response, malformed tool calls, a tool that does not exist, arguments of the wrong
type and an endless tool loop. Every turn must end, within a bounded time, in a useful answer
(possibly from the offline fallback) or a clear error: never a hang, never a 500.

The stub picks its script by a tag in the question (`[fault:NAME]`), so one server serves
every fault, and the turns can run concurrently.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.middleware import FALLBACK_NOTE
from domain.api_keys import create_key
from domain.db import make_engine, migrate, session_scope
from domain.importer import load_dataset
from tests.openai_stub import OpenAIStub, Reply, error_reply, text_reply, tool_call_reply
from tests.security_support import DEMO, server_errors, start_server
from web.testing import ROOT

pytestmark = [pytest.mark.security, pytest.mark.slow]

FIGURES = ROOT / "test-artifacts" / "security"
TIMEOUT_S = 1.0  # KEEN_LLM_TIMEOUT_S of the server under test
BOUND_S = 45.0  # no turn may take longer (2 model calls x 2 attempts x 1 s + fallback)
REPORTS = tool_call_reply("list_reward_reports", {"needs_attention": True})
FINAL = text_reply("Seven reward reports need attention; see the table.")
TAG = re.compile(r"\[fault:([a-z0-9_-]+)\]")


def _bad_call(arguments: str, name: str = "list_reward_reports") -> Reply:
    call = {
        "id": "call_bad",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    return Reply(message={"role": "assistant", "content": None, "tool_calls": [call]})


@dataclass(frozen=True)
class Fault:
    script: list[Reply]
    fallback: bool  # the offline planner is expected to answer
    note: str


FAULTS: dict[str, Fault] = {
    "timeout": Fault(
        [Reply(message={"role": "assistant", "content": "late"}, delay_s=3.0)], True, "timeout"
    ),
    "429-then-ok": Fault(
        [error_reply(429, {"Retry-After": "1"}), REPORTS, FINAL], False, "429 + Retry-After: 1"
    ),
    "429-always": Fault([error_reply(429, {"Retry-After": "1"})], True, "429 on every attempt"),
    "500-then-ok": Fault([error_reply(500), REPORTS, FINAL], False, "one 500"),
    "500-always": Fault([error_reply(500)], True, "500 on every attempt"),
    "503-always": Fault([error_reply(503)], True, "503 on every attempt"),
    "401": Fault([error_reply(401)], True, "provider rejects the API key"),
    "empty-body": Fault([Reply(status=200, body={})], True, "200 with an empty JSON body"),
    "bad-json-args": Fault(
        [_bad_call('{"needs_attention": tru'), REPORTS, FINAL], False, "tool arguments not JSON"
    ),
    "wrong-types": Fault(
        [tool_call_reply("list_reward_reports", {"needs_attention": "maybe", "x": [1]}), FINAL],
        False,
        "tool arguments of the wrong type",
    ),
    "unknown-tool": Fault(
        [tool_call_reply("approve_all_rewards", {"everything": True}), FINAL],
        False,
        "a tool that does not exist",
    ),
    "endless-loop": Fault([REPORTS], False, "a tool call on every model call"),
    "empty-answer": Fault([text_reply("")], False, "an empty final answer"),
}


# Bugs this suite found (all fixed: recursion limit vs model-call limit, a 200 without
# choices, empty replies and malformed tool calls now fall back to the offline planner).
# A new one goes here as (fault, variant) -> reason, marking that case strict xfail.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def _cases() -> list[Any]:
    cases = []
    for name in FAULTS:
        for variant in ("whole", "stream"):
            reason = KNOWN_BUGS.get((name, variant))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(
                pytest.param(name, variant == "stream", id=f"{name}-{variant}", marks=marks)
            )
    return cases


class RoutingStub(OpenAIStub):
    """The scripted stub, with one script per fault tag found in the conversation."""

    def __init__(self) -> None:
        super().__init__([FINAL])
        self.counts: dict[str, int] = {}
        self._route_lock = threading.Lock()

    def _next(self, body: dict[str, Any]) -> tuple[Reply, int]:
        text = json.dumps([m.get("content") for m in body.get("messages", [])])
        tag = TAG.search(text)
        name = tag.group(1) if tag else ""
        with self._route_lock:
            self.requests.append(body)
            n = self.counts.get(name, 0) + 1
            self.counts[name] = n
        script = FAULTS[name].script if name in FAULTS else [FINAL]
        return script[min(n, len(script)) - 1], n


@dataclass
class FaultServer:
    url: str
    key: str
    stub: RoutingStub
    log_path: Path


@pytest.fixture(scope="module")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServer]:
    data_dir = tmp_path_factory.mktemp("keen-faults")
    url = f"sqlite:///{data_dir / 'keen.db'}"
    engine = make_engine(url)
    migrate(engine)
    load_dataset(engine, DEMO, "default")
    with session_scope(engine) as session:
        key = create_key(session, "default", ["chat"], "admin").key
    engine.dispose()
    stub = RoutingStub().start()
    extra = {
        "KEEN_MODEL": "openai:stub-model",
        "OPENAI_BASE_URL": stub.base_url,
        "OPENAI_API_KEY": "sk-test-faults",
        "KEEN_LLM_TIMEOUT_S": str(TIMEOUT_S),
        "KEEN_LLM_MAX_RETRIES": "1",
        "KEEN_RATE_LIMIT_PER_MINUTE": "100000",
        "KEEN_RATE_LIMIT_BURST": "100000",
    }
    try:
        with start_server(data_dir, extra) as server:
            yield FaultServer(server.url, key, stub, server.log_path)
    finally:
        stub.stop()


RESULTS: dict[str, dict[str, Any]] = {}


def _ask(srv: FaultServer, name: str, stream: bool) -> dict[str, Any]:
    question = f"Which reward reports need attention? [fault:{name}]"
    headers = {"Authorization": f"Bearer {srv.key}"}
    started = time.monotonic()
    if stream:
        with httpx.stream(
            "POST",
            f"{srv.url}/api/chat/stream",
            json={"message": question},
            headers=headers,
            timeout=BOUND_S + 30,
        ) as response:
            status = response.status_code
            text = "".join(response.iter_text())
        events = re.findall(r"^event: ?(\w+)", text, flags=re.M)
        answers = [
            json.loads(line[5:])
            for block in text.split("\n\n")
            if "event: answer" in block
            for line in block.splitlines()
            if line.startswith("data:")
        ]
        body = answers[-1] if answers else {}
    else:
        response = httpx.post(
            f"{srv.url}/api/chat", json={"message": question}, headers=headers, timeout=BOUND_S + 30
        )
        status, events, body = response.status_code, [], response.json()
    return {"status": status, "elapsed": time.monotonic() - started, "events": events, **body}


@pytest.mark.parametrize(("name", "stream"), _cases())
def test_every_fault_ends_in_an_answer_within_the_bound(
    fault_server: FaultServer, name: str, stream: bool
) -> None:
    fault = FAULTS[name]
    result = _ask(fault_server, name, stream)
    RESULTS[f"{name}/{'stream' if stream else 'whole'}"] = {
        "status": result["status"],
        "seconds": round(result["elapsed"], 2),
    }
    assert result["status"] == 200, result
    assert result["elapsed"] < BOUND_S, result
    if stream:
        assert result["events"][-1] == "answer" and "error" not in result["events"], result
    answer = result["answer"]
    assert answer.strip(), f"{name}: an empty answer is not useful"
    assert result["thread_id"]
    if fault.fallback:
        assert answer.startswith(FALLBACK_NOTE), answer
        # the offline planner answers the question itself: 7 reports need attention (demo)
        assert "7 reward reports need attention" in answer, answer
    else:
        assert FALLBACK_NOTE not in answer, answer
    assert "sk-test-faults" not in json.dumps(result)


def test_retry_after_is_honoured(fault_server: FaultServer) -> None:
    # the 429 said "Retry-After: 1": the retry came at least one second later
    result = RESULTS.get("429-then-ok/whole")
    assert result is not None and result["seconds"] >= 1.0, result


def test_endless_tool_loop_is_cut_by_the_step_limit(fault_server: FaultServer) -> None:
    from agent.graph import MODEL_CALLS_PER_TURN

    calls = fault_server.stub.counts.get("endless-loop", 0)
    # two turns (whole and stream), each stopped after at most MODEL_CALLS_PER_TURN model calls
    assert 0 < calls <= 2 * (MODEL_CALLS_PER_TURN + 1), calls


def test_no_fault_left_a_500_or_a_traceback_in_the_log(fault_server: FaultServer) -> None:
    assert server_errors(fault_server.log_path) == []


def test_concurrent_faults_all_end(fault_server: FaultServer) -> None:
    """Every fault that is not a known bug at once, in parallel: all end within the bound."""
    results: dict[str, dict[str, Any]] = {}
    names = [name for name in FAULTS if (name, "whole") not in KNOWN_BUGS]

    def run(name: str) -> None:
        results[name] = _ask(fault_server, name, False)

    workers = [threading.Thread(target=run, args=(name,)) for name in names]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=BOUND_S * 3)
    assert not any(w.is_alive() for w in workers), "a turn hung"
    assert {n: r["status"] for n, r in results.items()} == dict.fromkeys(names, 200)
    assert all(r["answer"].strip() for r in results.values())
    slowest = max(r["elapsed"] for r in results.values())
    RESULTS["concurrent"] = {"turns": len(results), "slowest_seconds": round(slowest, 2)}
    assert slowest < BOUND_S * 2


def test_the_provider_key_is_never_logged(fault_server: FaultServer) -> None:
    assert "sk-test-faults" not in fault_server.log_path.read_text(errors="replace")


def test_fault_figures(fault_server: FaultServer) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    injected = sum(1 for k in RESULTS if "/" in k) + RESULTS.get("concurrent", {}).get("turns", 0)
    known = {f"{name}/{variant}" for name, variant in KNOWN_BUGS}
    figures = {
        "fault_kinds": len(FAULTS),
        "faults_injected": injected,
        "hangs": sum(1 for v in RESULTS.values() if v.get("seconds", 0) >= BOUND_S),
        "known_bug_turns": sorted(known & set(RESULTS)),
        "http_500": sum(1 for v in RESULTS.values() if v.get("status") == 500),
        "http_500_outside_known_bugs": sum(
            1 for k, v in RESULTS.items() if v.get("status") == 500 and k not in known
        ),
        "slowest_seconds": max(v.get("seconds", 0) for v in RESULTS.values()),
        "turns": RESULTS,
    }
    (FIGURES / "faults.json").write_text(json.dumps(figures, indent=2))
    print(f"\nfaults: injected {injected}, slowest {figures['slowest_seconds']} s")
    assert figures["http_500_outside_known_bugs"] == 0
    assert figures["hangs"] == 0
