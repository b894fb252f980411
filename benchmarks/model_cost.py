"""Model-mode cost per question: model calls and prompt/completion tokens, Keen's agent
against LangChain's own SQL agent, both driven by the same scripted OpenAI-compatible stub
over the same database and the section-8 questions.

    uv run python -m benchmarks.model_cost --data-dir /tmp/kb/demo --out cost.json

The stub (tests/openai_stub.py, real HTTP on loopback) plays the IDEAL script for each agent:
  * Keen: the tool call(s) the offline planner makes for the question, then a short answer;
  * LangChain (`create_sql_agent`, tool-calling, `SQLDatabaseToolkit`): list the tables, read
    the schema of the tables the question needs, run one correct SQL query, answer (its prompt
    also asks for `sql_db_query_checker`, an extra model call, which the script skips).
Tokens are counted on what each agent actually sent, with `bpe-openai` (o200k_base): every
message's role, text and tool calls plus 3 tokens of framing, and the JSON of the tool
schemas. Targets for Keen: ≤ 2 model calls and ≤ 2,500 prompt tokens per question.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from typing import Any

from benchmarks.common import TODAY, emit, log, machine, suite_parser
from tests.openai_stub import OpenAIStub, Reply, text_reply

FINAL = "Here is what the figures above show."  # no numbers: the grounding guard passes
STUCK_CUT = "2026-11-04"  # today − 14 days
OVERDUE_CUT = "2026-10-19"  # today − 30 days

# The ideal LangChain SQL-agent path per question: the tables it must read, one correct query.
SQL_PLANS: tuple[tuple[str, str], ...] = (
    (
        "reward_reports, rewards, channels",
        "SELECT rr.ext_id, c.name, SUM(CASE WHEN r.status = 'awaiting_review' THEN 1 ELSE 0 END) "
        "AS awaiting, SUM(CASE WHEN r.status = 'approved' THEN 1 ELSE 0 END) AS approved, "
        "rr.period_end FROM reward_reports rr JOIN channels c ON c.id = rr.channel_id "
        "LEFT JOIN rewards r ON r.report_id = rr.id GROUP BY rr.id, rr.ext_id, c.name, "
        "rr.period_end HAVING SUM(CASE WHEN r.status = 'awaiting_review' THEN 1 ELSE 0 END) > 0 "
        "OR (SUM(CASE WHEN r.status = 'approved' THEN 1 ELSE 0 END) > 0 "
        f"AND rr.period_end < '{OVERDUE_CUT}') ORDER BY rr.period_end DESC LIMIT 10",
    ),
    (
        "leads, channels, partners",
        "SELECT p.name, COUNT(*) AS leads, SUM(CASE WHEN l.status_kind = 'won' THEN 1 ELSE 0 "
        "END) AS won FROM leads l JOIN channels c ON c.id = l.channel_id JOIN partners p "
        "ON p.id = c.partner_id WHERE c.status = 'active' GROUP BY p.id, p.name "
        "HAVING COUNT(*) >= 5 ORDER BY 1.0 * SUM(CASE WHEN l.status_kind = 'won' THEN 1 "
        "ELSE 0 END) / COUNT(*) DESC LIMIT 10",
    ),
    (
        "leads, pipeline_statuses",
        "SELECT s.name, COUNT(*) AS stuck FROM leads l JOIN pipeline_statuses s "
        "ON s.id = l.status_id WHERE l.status_kind = 'open' AND l.status_changed_at < "
        f"'{STUCK_CUT}' GROUP BY s.name ORDER BY stuck DESC LIMIT 10",
    ),
    (
        "leads, channels",
        "SELECT c.name, c.currency, SUM(l.deal_value) AS revenue FROM leads l JOIN channels c "
        "ON c.id = l.channel_id WHERE l.status_kind = 'won' AND l.status_changed_at >= "
        "'2026-11-01' GROUP BY c.id, c.name, c.currency ORDER BY revenue DESC LIMIT 10",
    ),
    (
        "leads, channels, partners",
        "SELECT p.name, COUNT(*) AS leads, SUM(CASE WHEN l.status_kind = 'won' THEN 1 ELSE 0 "
        "END) AS won FROM leads l JOIN channels c ON c.id = l.channel_id JOIN partners p "
        "ON p.id = c.partner_id GROUP BY p.id, p.name ORDER BY leads DESC LIMIT 10",
    ),
    (
        "leads, channels, pipeline_statuses, rewards",
        "SELECT s.name, COUNT(*) AS leads, SUM(CASE WHEN l.status_kind = 'won' THEN "
        "l.deal_value ELSE 0 END) AS revenue FROM leads l JOIN channels c ON c.id = "
        "l.channel_id JOIN pipeline_statuses s ON s.id = l.status_id WHERE c.name = "
        "'{channel}' GROUP BY s.name, s.position ORDER BY s.position",
    ),
    (
        "rewards, channels",
        "SELECT r.ext_id, c.name, c.currency, r.amount, r.created_at FROM rewards r JOIN "
        "channels c ON c.id = r.channel_id WHERE r.status = 'approved' "
        "ORDER BY r.created_at DESC LIMIT 10",
    ),
)


def _encoding() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bpe_openai import get_encoding

        return get_encoding("o200k_base")


class Counter:
    """Prompt and completion tokens of Chat Completions requests and replies (o200k_base)."""

    def __init__(self) -> None:
        self.enc = _encoding()

    def n(self, text: str) -> int:
        return len(self.enc.encode(text)) if text else 0

    def _content(self, content: Any) -> str:
        if isinstance(content, list):
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content or ""

    def prompt(self, body: dict[str, Any]) -> int:
        total = 3  # the reply's priming
        for m in body.get("messages", []):
            total += 3 + self.n(m.get("role", "")) + self.n(self._content(m.get("content")))
            if m.get("tool_calls"):
                total += self.n(json.dumps(m["tool_calls"]))
            if m.get("name"):
                total += 1 + self.n(m["name"])
        if body.get("tools"):
            total += self.n(json.dumps(body["tools"]))
        return total

    def completion(self, reply: Reply) -> int:
        message = reply.message or {}
        calls = message.get("tool_calls")
        return self.n(message.get("content") or "") + (self.n(json.dumps(calls)) if calls else 0)


def _calls_reply(calls: list[tuple[str, dict[str, Any]]]) -> Reply:
    return Reply(
        message={
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(args)},
                }
                for i, (name, args) in enumerate(calls)
            ],
        }
    )


class ScriptedStub(OpenAIStub):
    """Chooses each reply from the conversation so far (`choose`), and records the tokens."""

    def __init__(self, choose: Any, counter: Counter) -> None:
        super().__init__([text_reply(FINAL)])
        self.choose = choose
        self.counter = counter
        self.log: list[tuple[int, int]] = []  # (prompt, completion) per request

    def _next(self, body: dict[str, Any]) -> tuple[Reply, int]:
        reply = self.choose(body)
        with self._lock:
            self.requests.append(body)
            self.log.append((self.counter.prompt(body), self.counter.completion(reply)))
            return reply, len(self.requests)


def _question_and_turn(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    messages = body.get("messages", [])
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    content = messages[last_user]["content"]
    text = content if isinstance(content, str) else json.dumps(content)
    return text, messages[last_user + 1 :]


def _which(text: str, questions: tuple[str, ...]) -> str:
    return next(q for q in questions if q in text)


def keen_cost(
    counter: Counter, ideal: dict[str, list[tuple[str, dict[str, Any]]]]
) -> list[dict[str, Any]]:
    from agent.memory import get_checkpointer
    from agent.service import Asker, Assistant
    from domain.settings import get_settings

    def choose(body: dict[str, Any]) -> Reply:
        text, turn = _question_and_turn(body)
        if any(m["role"] == "tool" for m in turn):
            return text_reply(FINAL)
        return _calls_reply(ideal[_which(text, tuple(ideal))])

    rows = []
    stub = ScriptedStub(choose, counter).start()
    try:
        os.environ["OPENAI_BASE_URL"] = stub.base_url
        os.environ.setdefault("OPENAI_API_KEY", "benchmark")
        get_settings.cache_clear()
        get_checkpointer.cache_clear()
        assistant = Assistant(model="openai:stub-model")
        for question in ideal:
            before = len(stub.log)
            answer = assistant.ask(question, Asker(), today=TODAY)
            rows.append(_row(question, stub.log[before:], [c.name for c in answer.tool_calls]))
    finally:
        stub.stop()
    return rows


def langchain_cost(
    counter: Counter, url: str, questions: tuple[str, ...], channel: str
) -> list[dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langchain_community.agent_toolkits import SQLDatabaseToolkit, create_sql_agent
        from langchain_community.utilities import SQLDatabase
    from langchain_openai import ChatOpenAI

    def choose(body: dict[str, Any]) -> Reply:
        text, turn = _question_and_turn(body)
        step = sum(1 for m in turn if m["role"] == "tool")
        tables, sql = SQL_PLANS[questions.index(_which(text, questions))]
        sql = sql.replace("{channel}", channel.replace("'", "''"))
        script = [
            _calls_reply([("sql_db_list_tables", {"tool_input": ""})]),
            _calls_reply([("sql_db_schema", {"table_names": tables})]),
            _calls_reply([("sql_db_query", {"query": sql})]),
        ]
        return script[step] if step < len(script) else text_reply(FINAL)

    rows = []
    stub = ScriptedStub(choose, counter).start()
    try:
        llm = ChatOpenAI(model="stub-model", base_url=stub.base_url, api_key="benchmark")
        db = SQLDatabase.from_uri(url)
        agent = create_sql_agent(
            llm, toolkit=SQLDatabaseToolkit(db=db, llm=llm), agent_type="tool-calling"
        )
        for question in questions:
            before = len(stub.log)
            agent.invoke({"input": question})
            steps = [json.loads(json.dumps(r))["messages"] for r in stub.requests[before:]]
            rows.append(_row(question, stub.log[before:], [str(len(s)) for s in steps]))
    finally:
        stub.stop()
    return rows


def _row(question: str, log_: list[tuple[int, int]], tools: list[str]) -> dict[str, Any]:
    return {
        "question": question,
        "model_calls": len(log_),
        "prompt_tokens": sum(p for p, _ in log_),
        "completion_tokens": sum(c for _, c in log_),
        "largest_prompt": max((p for p, _ in log_), default=0),
        "tools": tools,
    }


def run(url: str, org: str | None) -> dict[str, Any]:
    from agent.service import Asker, Assistant
    from benchmarks.assistant_warm import channel_in_questions, questions_for
    from domain.db import get_engine, resolve_org, session_scope

    with session_scope(get_engine()) as s:
        org_id = resolve_org(s, org).id
    questions = questions_for(org_id)
    channel = channel_in_questions(org_id)
    counter = Counter()
    offline = Assistant("offline")
    ideal = {}
    for q in questions:
        answer = offline.ask(q, Asker(org_slug=org), today=TODAY)
        ideal[q] = [(c.name, dict(c.args)) for c in answer.tool_calls]
    keen = keen_cost(counter, ideal)
    for r in keen:
        log(f"keen      {r['model_calls']} calls {r['prompt_tokens']:6} prompt  {r['question']}")
    peer = langchain_cost(counter, url, questions, channel)
    for r in peer:
        log(f"langchain {r['model_calls']} calls {r['prompt_tokens']:6} prompt  {r['question']}")
    for k, p in zip(keen, peer, strict=True):
        k["prompt_ratio_to_langchain"] = k["prompt_tokens"] / p["prompt_tokens"]
    return {
        "benchmark": "model_cost",
        "machine": machine(),
        "keen": keen,
        "langchain_sql_agent": peer,
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    args = suite_parser(__doc__).parse_args(argv)
    from benchmarks.tools_floor import use_database
    from domain.settings import get_settings

    use_database(args.database_url, args.data_dir)
    return emit(run(get_settings().resolved_database_url, args.org), args.out)


if __name__ == "__main__":
    sys.exit(main())
