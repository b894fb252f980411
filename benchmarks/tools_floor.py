"""Every tool of the registry against its floor: the raw SQL of the same figures, run directly.

    uv run python -m benchmarks.tools_floor --database-url sqlite:////tmp/kb/s100k/keen.db

Each tool is invoked as the agent invokes it (`tool.invoke` with a runtime context, JSON out),
so the time includes name resolution, the domain queries and the JSON envelope. Its floor is
the hand-written SQL a careful engineer would run for the same numbers (counts, sums, the
page of rows the tool returns), on a connection of the same engine, with no Python around it.
The ratio tool ÷ floor is the overhead of the layers; the target is ≤ 1.5× at 1M leads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

from benchmarks.common import TODAY, Stat, emit, log, machine, ratio, suite_parser, timed

STUCK_CUT = datetime.combine(TODAY - timedelta(days=14), datetime.min.time())
SLA_CUT = datetime.combine(TODAY - timedelta(days=2), datetime.min.time())
PAGE = 500  # tools fetch up to FULL_TABLE_ROWS rows for the answer's data

LEAD_PAGE = (
    "SELECT l.ext_id, c.name, c.ext_id, s.name, l.status_kind, l.contact_name, l.company_name, "
    "l.email, l.phone, l.deal_value, c.currency, l.created_at, l.status_changed_at, l.owner "
    "FROM leads l JOIN pipeline_statuses s ON s.id = l.status_id "
    "JOIN channels c ON c.id = l.channel_id WHERE l.org_id = :o {where} "
    "ORDER BY {order} LIMIT {page}"
)
PER_CHANNEL = (
    "SELECT l.channel_id, COUNT(*), SUM(CASE WHEN l.status_kind = 'won' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN l.status_kind = 'won' THEN COALESCE(l.deal_value, 0) ELSE 0 END) "
    "FROM leads l JOIN channels c ON c.id = l.channel_id WHERE l.org_id = :o {where} "
    "GROUP BY l.channel_id"
)
REWARDS_PER_CHANNEL = (
    "SELECT channel_id, SUM(amount) FROM rewards WHERE org_id = :o AND status <> 'rejected' "
    "GROUP BY channel_id"
)
PER_STATUS = (
    "SELECT status_id, COUNT(*), SUM(CASE WHEN status_kind = 'open' AND status_changed_at < :cut "
    "THEN 1 ELSE 0 END) FROM leads WHERE org_id = :o GROUP BY status_id"
)
PATTERN_EXTRA = (
    "SELECT channel_id, status_id, COUNT(*) FROM leads WHERE org_id = :o "
    "AND status_kind = 'open' AND status_changed_at < :cut GROUP BY channel_id, status_id",
    "SELECT channel_id, MAX(created_at) FROM leads WHERE org_id = :o GROUP BY channel_id",
)


@dataclass
class Case:
    tool: str
    args: dict[str, Any]
    floor: list[tuple[str, dict[str, Any]]]  # statements run one after the other
    note: str = ""


@dataclass
class ToolTiming:
    tool: str
    args: dict[str, Any]
    tool_ms: Stat
    floor_ms: Stat
    ratio_median: float | None
    note: str


def _samples(conn: Connection, org_id: int) -> dict[str, Any]:
    """Real ids and names to ask about: the busiest channel, a lead, a reward, a report."""

    def one(sql: str) -> Any:
        return conn.execute(text(sql), {"o": org_id}).scalar()

    busiest = conn.execute(
        text(
            "SELECT c.id, c.name FROM channels c JOIN (SELECT channel_id, COUNT(*) AS n "
            "FROM leads WHERE org_id = :o GROUP BY channel_id) l ON l.channel_id = c.id "
            "WHERE c.org_id = :o AND c.status = 'active' ORDER BY l.n DESC, c.id LIMIT 1"
        ),
        {"o": org_id},
    ).one()
    return {
        "channel_id": busiest[0],
        "channel": busiest[1],
        "lead": one(
            "SELECT l.ext_id FROM rewards r JOIN leads l ON l.id = r.lead_id "
            "WHERE r.org_id = :o ORDER BY r.id LIMIT 1"
        ),
        "reward": one(
            "SELECT ext_id FROM rewards WHERE org_id = :o AND trigger_id IS NOT NULL "
            "ORDER BY id LIMIT 1"
        ),
    }


def cases(conn: Connection, org_id: int) -> list[Case]:
    """One representative call per tool (12), each with the SQL floor of its figures."""
    s = _samples(conn, org_id)
    o = {"o": org_id}
    cut = {"o": org_id, "cut": STUCK_CUT}
    stuck = "AND l.status_kind = 'open' AND l.status_changed_at < :cut"
    return [
        Case(
            "find_leads",
            {"stuck": True},
            [
                (f"SELECT COUNT(*) FROM leads l WHERE l.org_id = :o {stuck}", cut),
                (
                    LEAD_PAGE.format(where=stuck, order="l.status_changed_at, l.id", page=PAGE),
                    cut,
                ),
            ],
            "count + the first 500 rows, longest waiting first",
        ),
        Case(
            "get_lead",
            {"lead_id": s["lead"]},
            [
                (
                    LEAD_PAGE.format(where="AND l.ext_id = :e", order="l.id", page=1),
                    {**o, "e": s["lead"]},
                ),
                (
                    "SELECT h.from_status, h.to_status, h.changed_at FROM lead_status_history h "
                    "JOIN leads l ON l.id = h.lead_id WHERE l.org_id = :o AND l.ext_id = :e "
                    "ORDER BY h.changed_at",
                    {**o, "e": s["lead"]},
                ),
                (
                    "SELECT r.ext_id, r.amount, r.status FROM rewards r JOIN leads l "
                    "ON l.id = r.lead_id WHERE l.org_id = :o AND l.ext_id = :e",
                    {**o, "e": s["lead"]},
                ),
            ],
            "the lead row, its history, its rewards",
        ),
        Case(
            "channel_overview",
            {},
            [
                (
                    "SELECT c.ext_id, c.name, p.name, c.status, c.currency, n.n "
                    "FROM channels c JOIN partners p ON p.id = c.partner_id LEFT JOIN "
                    "(SELECT channel_id, COUNT(*) AS n FROM leads WHERE org_id = :o "
                    "GROUP BY channel_id) n ON n.channel_id = c.id WHERE c.org_id = :o",
                    o,
                )
            ],
            "lead count per channel",
        ),
        Case(
            "channel_performance",
            {},
            [(PER_CHANNEL.format(where=""), o), (REWARDS_PER_CHANNEL, o)],
            "leads, won, revenue per channel + reward totals per channel",
        ),
        Case("lead_funnel", {}, [(PER_STATUS, cut)], "count and stuck per status"),
        Case(
            "find_patterns",
            {},
            [
                (PER_CHANNEL.format(where="AND c.status = 'active'"), o),
                (REWARDS_PER_CHANNEL, o),
                *((sql, cut) for sql in PATTERN_EXTRA),
            ],
            "per-channel metrics, rewards, stuck per status, last lead date",
        ),
        Case(
            "improvement_plan",
            {"channel": s["channel"]},
            [
                (PER_CHANNEL.format(where="AND c.status = 'active'"), o),
                (REWARDS_PER_CHANNEL, o),
                *((sql, cut) for sql in PATTERN_EXTRA),
            ],
            "the same figures as find_patterns (the diagnosis compares with every channel)",
        ),
        Case(
            "list_rewards",
            {"status": "approved"},
            [
                (
                    "SELECT r.status, c.currency, COUNT(*), SUM(r.amount) FROM rewards r "
                    "JOIN channels c ON c.id = r.channel_id WHERE r.org_id = :o "
                    "AND r.status = 'approved' GROUP BY r.status, c.currency",
                    o,
                ),
                (
                    "SELECT r.ext_id, r.amount, r.status, c.name, l.ext_id, r.created_at "
                    "FROM rewards r JOIN channels c ON c.id = r.channel_id "
                    "LEFT JOIN leads l ON l.id = r.lead_id WHERE r.org_id = :o "
                    f"AND r.status = 'approved' ORDER BY r.created_at DESC, r.id DESC LIMIT {PAGE}",
                    o,
                ),
            ],
            "totals per status and currency + the first 500 rows",
        ),
        Case(
            "explain_reward",
            {"reward_id": s["reward"]},
            [
                (
                    "SELECT r.ext_id, r.amount, r.status, t.name, t.event, t.amount_type, "
                    "t.amount, l.ext_id, c.name FROM rewards r "
                    "LEFT JOIN reward_triggers t ON t.id = r.trigger_id "
                    "LEFT JOIN leads l ON l.id = r.lead_id JOIN channels c ON c.id = r.channel_id "
                    "WHERE r.org_id = :o AND r.ext_id = :e",
                    {**o, "e": s["reward"]},
                )
            ],
            "the reward with its trigger, lead and channel",
        ),
        Case(
            "list_reward_reports",
            {"needs_attention": True},
            [
                (
                    "SELECT report_id, status, COUNT(*), SUM(amount) FROM rewards "
                    "WHERE org_id = :o AND report_id IS NOT NULL GROUP BY report_id, status",
                    o,
                ),
                (
                    "SELECT p.id, p.ext_id, p.period_start, p.period_end, c.name, pa.name "
                    "FROM reward_reports p JOIN channels c ON c.id = p.channel_id "
                    "JOIN partners pa ON pa.id = c.partner_id WHERE p.org_id = :o",
                    o,
                ),
            ],
            "reward count and sum per report and status",
        ),
        Case(
            "list_reward_triggers",
            {},
            [
                (
                    "SELECT t.ext_id, t.name, c.name, t.event, t.status, t.amount_type, t.amount "
                    "FROM reward_triggers t JOIN channels c ON c.id = t.channel_id "
                    "WHERE t.org_id = :o ORDER BY c.name, t.ext_id",
                    o,
                )
            ],
            "the triggers with their channel",
        ),
        Case(
            "search_notes",
            {"query": "follow up with a webinar", "kind": "playbook"},
            [],
            "the guide's actions (lead notes need `keen index` past 50,000 notes); "
            "floor: embedding the query + the vector index's own query",
        ),
    ]


def _search_floor(org_id: int) -> Callable[[], Any]:
    from tools.search import semantic_index

    idx = semantic_index()
    return lambda: idx.search(org_id, "follow up with a webinar", kinds=("playbook",), k=10)


def _tool_call(name: str, args: dict[str, Any], org_id: int, slug: str) -> Callable[[], Any]:
    from langchain.tools import ToolRuntime

    from tools.context import KeenContext
    from tools.registry import tool_by_name

    tool = tool_by_name(name)
    ctx = KeenContext(org_id=org_id, org_slug=slug, today=TODAY)
    runtime = ToolRuntime(
        state={}, context=ctx, config={}, stream_writer=lambda _: None, tool_call_id="1", store=None
    )
    call = {"type": "tool_call", "id": "1", "name": name, "args": {**args, "runtime": runtime}}

    def run() -> Any:
        message = tool.invoke(call)
        if '"error"' in str(message.content)[:20]:
            raise RuntimeError(f"{name}{args}: {message.content}")
        return message

    return run


def _floor_call(
    conn: Connection, statements: list[tuple[str, dict[str, Any]]]
) -> Callable[[], Any]:
    prepared = [(text(sql), params) for sql, params in statements]
    return lambda: [conn.execute(stmt, params).all() for stmt, params in prepared]


def use_database(url: str | None, data_dir: str | None) -> None:
    """Point the process-wide settings (and so the tools' engine) at the benchmarked database."""
    if url:
        os.environ["DATABASE_URL"] = url
    if data_dir:
        os.environ["KEEN_DATA_DIR"] = data_dir
    from domain.settings import get_settings

    get_settings.cache_clear()


def run(repeat: int, org: str | None, only: list[str] | None = None) -> dict[str, Any]:
    from domain.db import get_engine, resolve_org, session_scope

    engine: Engine = get_engine()
    with session_scope(engine) as s:
        organization = resolve_org(s, org)
        org_id, slug = organization.id, organization.slug
    leads = 0
    timings: list[ToolTiming] = []
    with engine.connect() as conn:
        leads = conn.execute(text("SELECT COUNT(*) FROM leads WHERE org_id = :o"), {"o": org_id})
        leads = int(leads.scalar() or 0)
        log(f"{leads:,} leads on {engine.dialect.name}")
        for case in cases(conn, org_id):
            if only and case.tool not in only:
                continue
            tool_samples = timed(_tool_call(case.tool, case.args, org_id, slug), repeat)
            floor_fn = (
                _search_floor(org_id)
                if case.tool == "search_notes"
                else _floor_call(conn, case.floor)
            )
            floor_samples = timed(floor_fn, repeat)
            conn.rollback()  # end the read transaction so the next tool sees a fresh snapshot
            t, f = Stat.of(tool_samples), Stat.of(floor_samples)
            timings.append(
                ToolTiming(case.tool, case.args, t, f, ratio(t.median_ms, f.median_ms), case.note)
            )
            log(
                f"{case.tool:<22} {t.median_ms:9.1f} ms (p95 {t.p95_ms:9.1f})  floor "
                f"{f.median_ms:9.1f} ms  ×{timings[-1].ratio_median or 0:.2f}"
            )
    return {
        "benchmark": "tools_floor",
        "machine": machine(),
        "database": engine.dialect.name,
        "leads": leads,
        "repeat": repeat,
        "tools": [asdict(t) for t in timings],
        "loadavg_after": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = suite_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per tool and floor")
    parser.add_argument("--only", nargs="*", help="only these tools")
    args = parser.parse_args(argv)
    use_database(args.database_url, args.data_dir)
    return emit(run(args.repeat, args.org, args.only), args.out)


if __name__ == "__main__":
    sys.exit(main())
