"""The tools as a model sees them: schemas, scope from the runtime context, names, periods,
errors and bounded, compact output. Also the harness the other test_tools_* modules share.

The demo dataset (evals/fixtures/README.md, today = 2026-11-18) is loaded once per module and
backend; expected values come from the README's hand-checked facts or from raw SQL written here.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import bpe_openai as tiktoken
import jsonschema
import pytest
from langchain.tools import ToolRuntime
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from sqlalchemy import Engine, create_engine, event, text

from domain.db import get_engine, make_engine, migrate
from domain.importer import load_dataset
from domain.settings import get_settings
from tests.conftest import PG_URL, POSTGRES_UP
from tests.datasets import write_dataset
from tools.common import is_this, money, number, pct, pct_of, shown_rows
from tools.context import KeenContext
from tools.registry import all_tools, tool_by_name

PROJECT = Path(__file__).resolve().parent.parent
DEMO = PROJECT / "evals" / "fixtures" / "demo"
OTHER = PROJECT / "evals" / "fixtures" / "other-org"
TODAY = date(2026, 11, 18)  # the fixture's pinned today
MAX_SCHEMA_TOKENS = 1000


# --- the shared harness ------------------------------------------------------------------------


@dataclass
class Demo:
    """The demo organization (plus `other` and `look-alike`) in one database."""

    url: str
    engine: Engine
    org_id: int
    other_org_id: int
    lookalike_org_id: int
    data_dir: Path

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def invoke(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        channel: str | None = None,
        org_id: int | None = None,
    ) -> ToolMessage:
        ctx = KeenContext(
            org_id=org_id or self.org_id, org_slug="default", today=TODAY, channel_id=channel
        )
        runtime = ToolRuntime(
            state={},
            context=ctx,
            config={},
            stream_writer=lambda _: None,
            tool_call_id="1",
            store=None,
        )
        call = {
            "type": "tool_call",
            "id": "1",
            "name": name,
            "args": {**(args or {}), "runtime": runtime},
        }
        message = tool_by_name(name).invoke(call)
        assert isinstance(message, ToolMessage)
        return message

    def call(self, name: str, args: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        """The parsed JSON content of a tool call."""
        return json.loads(str(self.invoke(name, args, **kw).content))


def table(payload: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    """A content table's rows as dicts keyed by column."""
    t = payload["tables"][index]
    return [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]


def _lookalike_dataset(folder: Path) -> Path:
    """Two channels whose names start alike ("summit" names both) and one partner."""
    return write_dataset(
        folder,
        {
            "partners.csv": [{"id": "p-summit", "name": "Summit Group"}],
            "channels.csv": [
                {"id": "ch-north", "partner_id": "p-summit", "name": "Summit North"},
                {"id": "ch-south", "partner_id": "p-summit", "name": "Summit South"},
            ],
            "leads.csv": [
                {"id": "l-1", "channel_id": "ch-north", "status": "New lead",
                 "created_at": "2026-11-01"},
                {"id": "l-2", "channel_id": "ch-south", "status": "Won",
                 "created_at": "2026-11-02", "deal_value": "100"},
            ],
        },
    )  # fmt: skip


def _database(kind: str, folder: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'demo.db'}", None
    if not POSTGRES_UP:
        pytest.skip("PostgreSQL is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with create_engine(PG_URL).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo_data(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Load the datasets once per test module and backend."""
    folder = tmp_path_factory.mktemp(f"tools-{request.param}")
    url, schema = _database(request.param, folder)
    engine = make_engine(url)
    migrate(engine)
    load_dataset(engine, DEMO, "default")
    load_dataset(engine, OTHER, "other")
    load_dataset(engine, _lookalike_dataset(folder / "lookalike"), "look-alike")
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT slug, id FROM organizations")).all())
    yield Demo(url, engine, ids["default"], ids["other"], ids["look-alike"], folder / "data")
    engine.dispose()
    if schema:
        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def demo(
    demo_data: Demo, _isolated_settings: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Demo]:
    """The tools' process-wide engine and data folder pointed at the loaded database."""
    monkeypatch.setenv("DATABASE_URL", demo_data.url)
    monkeypatch.setenv("KEEN_DATA_DIR", str(demo_data.data_dir))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield demo_data
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


# --- schemas ---------------------------------------------------------------------------------

TOOLS = all_tools()
IDS = [t.name for t in TOOLS]


def test_the_registry_has_exactly_the_tools_of_the_doc() -> None:
    doc = (PROJECT / "docs" / "tools.md").read_text(encoding="utf-8")
    first_table = doc.split("## Output shapes")[0]
    documented = re.findall(r"^\| `(\w+)` \|", first_table, flags=re.MULTILINE)
    assert documented == IDS
    assert len(set(IDS)) == 18


@pytest.mark.parametrize("tool", TOOLS, ids=IDS)
def test_schema_is_valid_small_and_described(tool: Any) -> None:
    spec = convert_to_openai_tool(tool)
    function = spec["function"]
    assert function["name"] == tool.name
    assert len(function["description"]) > 40
    params = function["parameters"]
    jsonschema.Draft202012Validator.check_schema(params)
    assert params["type"] == "object"
    for name, prop in params["properties"].items():
        assert prop.get("description"), f"{tool.name}.{name} has no description"
    tokens = len(tiktoken.get_encoding("o200k_base").encode(json.dumps(spec)))
    assert tokens < MAX_SCHEMA_TOKENS, f"{tool.name}: {tokens} tokens"


@pytest.mark.parametrize("tool", TOOLS, ids=IDS)
def test_no_tool_accepts_an_organization(tool: Any) -> None:
    """The organization comes only from the runtime context, never from an argument."""
    props = convert_to_openai_tool(tool)["function"]["parameters"]["properties"]
    params = inspect.signature(tool.func).parameters
    names = set(props) | set(params) | set(tool.args)
    forbidden = [n for n in names if re.search(r"org|tenant|account|workspace", n.lower())]
    assert forbidden == []
    assert "runtime" not in props  # injected, never shown to a model
    assert params["runtime"].kind is inspect.Parameter.KEYWORD_ONLY


def test_enums_are_listed_in_the_schema() -> None:
    props = convert_to_openai_tool(tool_by_name("channel_performance"))["function"]["parameters"][
        "properties"
    ]
    assert props["group_by"]["enum"] == ["channel", "partner"]
    assert "conversion_rate" in props["rank_by"]["anyOf"][0]["enum"]
    rewards = convert_to_openai_tool(tool_by_name("list_rewards"))["function"]["parameters"]
    assert "outstanding" in rewards["properties"]["status"]["anyOf"][0]["enum"]


# --- scope from the runtime context ------------------------------------------------------------


def test_this_channel_is_the_page_channel(demo: Demo) -> None:
    expected = demo.scalar(
        "SELECT count(*) FROM leads l JOIN channels c ON c.id = l.channel_id "
        "WHERE c.ext_id = 'ch-delta' AND l.org_id = :org",
        org=demo.org_id,
    )
    assert expected == 42  # README: Delta Digital has 42 leads
    for word in ("this", "this channel", "Current", " THIS  channel "):
        payload = demo.call("find_leads", {"channel": word}, channel="ch-delta")
        assert payload["answer"]["count"] == expected
        assert payload["answer"]["filters"] == "channel Delta Digital"


def test_this_channel_without_a_page_is_an_error(demo: Demo) -> None:
    for name in ("find_leads", "lead_funnel", "channel_overview", "list_rewards"):
        payload = demo.call(name, {"channel": "this"})
        assert "No channel is open on this page" in payload["error"]
    # improvement_plan defaults to the page's channel
    assert "No channel is open" in demo.call("improvement_plan")["error"]


def test_this_partner_is_the_partner_of_the_page_channel(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"partner": "this", "group_by": "partner"},
                        channel="ch-harbor")  # fmt: skip
    (row,) = table(payload)
    assert row["name"] == "Meridian Holdings"  # Harbor Labs is Meridian's, with Granite Group
    assert row["lead_volume"] == 98  # README: 60 + 38


def test_a_page_channel_of_another_organization_is_refused(demo: Demo) -> None:
    # "ch-north" exists only in the look-alike organization
    payload = demo.call("find_leads", {"channel": "this"}, channel="ch-north")
    assert "does not exist" in payload["error"]


def test_a_missing_context_is_an_error_not_a_crash(demo: Demo) -> None:
    runtime = ToolRuntime(
        state={}, context=None, config={}, stream_writer=lambda _: None, tool_call_id="1",
        store=None,
    )  # fmt: skip
    call = {"type": "tool_call", "id": "1", "name": "find_leads", "args": {"runtime": runtime}}
    message = tool_by_name("find_leads").invoke(call)
    assert "No organization context" in json.loads(str(message.content))["error"]


def test_organizations_never_see_each_other(demo: Demo) -> None:
    # README: "Quillfeather Robotics" exists only in the other organization.
    assert demo.call("find_leads", {"text": "Quillfeather"})["answer"]["count"] == 0
    other = demo.call("find_leads", {"text": "Quillfeather"}, org_id=demo.other_org_id)
    assert other["answer"]["count"] == 1
    # The same channel id names a different channel in each organization.
    mine = demo.call("channel_overview", {"channel": "ch-atlas"})
    theirs = demo.call("channel_overview", {"channel": "ch-atlas"}, org_id=demo.other_org_id)
    assert (mine["answer"]["channel"], theirs["answer"]["channel"]) == (
        "Atlas Advisory",
        "Atlas Advisors",
    )
    assert demo.call("channel_overview", org_id=demo.other_org_id)["answer"]["channels"] == 2


def test_tools_run_inside_a_graph_with_the_context(demo: Demo) -> None:
    """The way agent/graph.py runs them: a ToolNode, the context given to the graph."""
    graph = StateGraph(MessagesState, context_schema=KeenContext)
    graph.add_node("tools", ToolNode(all_tools()))
    graph.add_edge(START, "tools")
    compiled = graph.compile()
    call = {"name": "find_leads", "args": {"channel": "this", "stuck": True}, "id": "c1"}
    ctx = KeenContext(demo.org_id, "default", TODAY, channel_id="ch-delta")
    out = compiled.invoke({"messages": [AIMessage("", tool_calls=[call])]}, context=ctx)
    message = out["messages"][-1]
    assert isinstance(message, ToolMessage)
    assert json.loads(str(message.content))["answer"]["count"] == 7  # README: Delta stuck 7
    assert len(message.artifact["data"][0]["rows"]) == 7


# --- names -------------------------------------------------------------------------------------


def test_names_tolerate_case_typos_ids_and_first_words(demo: Demo) -> None:
    for text_ in ("Atlas Advisory", "atlas advisory", "Atlas Advisry", "atlas", "ch-atlas"):
        payload = demo.call("channel_overview", {"channel": text_})
        assert payload["answer"]["id"] == "ch-atlas", text_
    payload = demo.call(
        "channel_performance", {"partner": "meridan holdings", "group_by": "partner"}
    )
    assert table(payload)[0]["name"] == "Meridian Holdings"


def test_an_ambiguous_name_returns_the_candidates(demo: Demo) -> None:
    payload = demo.call("find_leads", {"channel": "summit"}, org_id=demo.lookalike_org_id)
    assert "several channels" in payload["error"]
    assert sorted(payload["candidates"]) == ["Summit North", "Summit South"]
    assert "suggestions" not in payload
    # one of them, named fully, resolves
    named = demo.call("find_leads", {"channel": "Summit South"}, org_id=demo.lookalike_org_id)
    assert named["answer"]["count"] == 1


def test_an_unknown_name_returns_suggestions(demo: Demo) -> None:
    payload = demo.call("find_leads", {"channel": "Zanzibar Widgets"})
    assert payload["error"] == "No channel matches 'Zanzibar Widgets'."
    assert payload["suggestions"] == []
    # near, but not near enough to guess: suggested, never used
    close = demo.call("lead_funnel", {"channel": "Fjordland"})
    assert close == {"error": "No channel matches 'Fjordland'.", "suggestions": ["Fjord Solutions"]}
    # the other organization's look-alike name is not a demo channel
    other = demo.call("lead_funnel", {"channel": "Delta Dynamics"})
    assert other["suggestions"] == ["Delta Digital"]


def test_a_channel_of_another_partner_is_an_error(demo: Demo) -> None:
    payload = demo.call("channel_performance", {"channel": "atlas", "partner": "meridian"})
    assert "does not belong" in payload["error"]


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize("phrase", ["blah", "the other day", "Q4 2030", "2027"])
def test_a_bad_period_names_phrases_that_work(demo: Demo, phrase: str) -> None:
    payload = demo.call("channel_performance", {"period": phrase})
    assert "last month" in payload["error"] and "Q3 2026" in payload["error"]


@pytest.mark.parametrize(
    "name",
    [
        "find_leads",
        "channel_performance",
        "lead_funnel",
        "find_patterns",
        "list_rewards",
        "list_reward_reports",
    ],
)
def test_every_period_aware_tool_says_which_period(demo: Demo, name: str) -> None:
    assert demo.call(name)["period"] == "all time"
    last_month = demo.call(name, {"period": "last month"})
    assert last_month["period"] == "last month (2026-10-01 to 2026-10-31)"


def test_improvement_plan_says_its_period(demo: Demo) -> None:
    payload = demo.call("improvement_plan", {"channel": "beacon", "period": "Q3 2026"})
    assert payload["period"] == "Q3 2026 (2026-07-01 to 2026-09-30)"


# --- errors and bounds ---------------------------------------------------------------------------


def test_invalid_arguments_are_an_error_message_not_an_exception(demo: Demo) -> None:
    message = demo.invoke("find_leads", {"status_kind": "maybe"})
    assert message.status == "error"
    assert json.loads(str(message.content))["error"].startswith("Invalid arguments: status_kind")
    message = demo.invoke("channel_performance", {"rank_by": "vibes"})
    assert "rank_by" in json.loads(str(message.content))["error"]
    assert "error" in demo.call("channel_performance", {"top": 0})


def test_the_content_shows_20_rows_and_the_artifact_keeps_the_rest(demo: Demo) -> None:
    total = demo.scalar("SELECT count(*) FROM leads WHERE org_id = :org", org=demo.org_id)
    assert total == 360  # README
    message = demo.invoke("find_leads")
    payload = json.loads(str(message.content))
    shown = payload["tables"][0]
    assert payload["answer"]["count"] == 360
    assert len(shown["rows"]) == 20 and shown["left_out"] == 340
    assert len(message.artifact["data"][0]["rows"]) == 360  # up to 500 kept for the answer's data
    five = demo.call("find_leads", {"limit": 5})["tables"][0]
    assert (len(five["rows"]), five["left_out"]) == (5, 355)
    many = demo.call("find_leads", {"limit": 10_000})["tables"][0]
    assert len(many["rows"]) == 100  # the content never carries everything


def test_a_table_without_more_rows_has_no_left_out(demo: Demo) -> None:
    shown = demo.call("find_leads", {"channel": "beacon"})["tables"][0]
    assert len(shown["rows"]) == 14 and "left_out" not in shown


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("find_leads", {}),
        ("get_lead", {"lead_id": "lead-0303"}),
        ("channel_overview", {}),
        ("channel_overview", {"channel": "delta"}),
        ("channel_performance", {}),
        ("channel_performance", {"rank_by": "revenue"}),
        ("lead_funnel", {}),
        ("find_patterns", {}),
        ("improvement_plan", {"channel": "cobalt"}),
        ("list_rewards", {}),
        ("explain_reward", {"reward_id": "rw-0048"}),
        ("list_reward_reports", {}),
        ("list_reward_triggers", {}),
    ],
)
def test_content_is_compact_json(demo: Demo, name: str, args: dict[str, Any]) -> None:
    content = str(demo.invoke(name, args).content)
    payload = json.loads(content)
    assert "error" not in payload
    assert next(iter(payload)) == "answer"  # the direct answer first
    assert content == json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    assert len(content) < 8_000, f"{name}: {len(content)} characters"


MAX_QUERIES = 12


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("find_leads", {}),
        ("find_leads", {"channel": "delta", "partner": "delta", "status": "won", "stuck": False,
                        "period": "this year", "owner": "a", "text": "e"}),
        ("get_lead", {"lead_id": "lead-0011"}),
        ("channel_overview", {}),
        ("channel_overview", {"channel": "delta"}),
        ("channel_performance", {"rank_by": "conversion_rate", "group_by": "partner"}),
        ("lead_funnel", {"channel": "harbor"}),
        ("find_patterns", {}),
        ("improvement_plan", {"channel": "cobalt"}),
        ("list_rewards", {"channel": "delta", "lead_id": "lead-0198",
                          "report_id": "rpt-delta-2026-08"}),
        ("explain_reward", {"reward_id": "rw-0048"}),
        ("list_reward_reports", {}),
        ("list_reward_reports", {"report_id": "rpt-harbor-2026-09"}),
        ("list_reward_triggers", {}),
    ],
)  # fmt: skip
def test_each_call_runs_a_few_queries(demo: Demo, name: str, args: dict[str, Any]) -> None:
    """Aggregation happens in SQL: a call costs a handful of statements, whatever the data."""
    statements: list[str] = []
    engine = get_engine()
    listener = lambda *a: statements.append(a[2])  # noqa: E731  (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert "error" not in demo.call(name, args)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert 0 < len(statements) <= MAX_QUERIES, "\n".join(statements)


# --- formats (no database) ---------------------------------------------------------------------


def test_percentages_round_half_up_from_exact_ratios() -> None:
    assert pct_of(1, 8) == 12.5  # 12.5% exactly
    assert pct_of(1, 16) == 6.3  # 6.25% → 6.3 (half-up, not half-even)
    assert pct_of(113, 2000) == 5.7  # 5.65%: 0.0565 is not exact in binary, the ratio is
    assert pct_of(8, 14) == 57.1  # 57.142…%
    assert pct_of(Decimal("7400.00"), Decimal("18500.00")) == 40.0
    assert pct_of(3, 0) is None  # "n/a"
    assert pct(Fraction(1, 5)) == 20.0


def test_money_is_two_decimals_half_up() -> None:
    assert money(Decimal("2456.785")) == "2456.79"  # README: 10% of 24,567.85
    assert money(Decimal("61.725")) == "61.73"
    assert money(Decimal("-750")) == "-750.00"
    assert money(0) == "0.00"
    assert money(None) is None


def test_numbers_and_row_bounds() -> None:
    assert number(Fraction(39)) == 39 and isinstance(number(Fraction(39)), int)
    assert number(Fraction(117, 2)) == 58.5  # 1.5 × 39
    assert (shown_rows(None), shown_rows(0), shown_rows(7), shown_rows(10**6)) == (20, 1, 7, 100)


def test_words_for_the_page_channel() -> None:
    assert all(is_this(w) for w in ("this", "This Channel", "current", "  this   one "))
    assert not any(is_this(w) for w in (None, "", "thistle", "Atlas", "this channel please"))
