"""The fixture check: every `sql:` expectation of every case, recomputed from the raw CSVs.

A change to evals/fixtures/ that silently changes a figure a case expects fails here, naming
the case. The queries run on evals/sql.py's in-memory SQLite copy of the CSVs (stdlib only),
never through the code under test. Also checks a few hand-worked facts of the fixture README, so
the helper views themselves are held to numbers worked out by hand.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from evals.casefile import ORGS, Case, load_cases
from evals.checks import DEFAULT_TOLERANCE
from evals.sql import FIXTURES, fixture_db, flat, query

CASES = load_cases()
SQL_TURNS = [
    (case, index)
    for case in CASES
    for index, turn in enumerate(case.turns)
    if turn.expect.get("sql")
]


def _first(item: Any) -> Any:
    """A names/ordered entry may list alternatives; the first is the canonical one."""
    return item if isinstance(item, str) else item[0]


def _queries(spec: str | list[str]) -> list[str]:
    return [spec] if isinstance(spec, str) else list(spec)


def recompute(case: Case, index: int) -> list[str]:
    """Differences between the case's literal expectations and its SQL (empty when equal)."""
    expect = case.turns[index].expect
    sql = expect["sql"]
    conn = fixture_db(FIXTURES / ORGS[case.org], case.today)
    problems = []
    if "numbers" in sql:
        values = [v for q in _queries(sql["numbers"]) for v in flat(query(conn, q, case.today))]
        literal = expect["numbers"][: len(values)]
        if len(values) > len(expect["numbers"]):
            problems.append(f"sql gives {len(values)} numbers, the case lists fewer")
        for got, item in zip(values, literal, strict=False):
            tolerance = Decimal(str(item.get("tolerance", DEFAULT_TOLERANCE)))
            if got is None or abs(Decimal(str(got)) - Decimal(str(item["value"]))) > tolerance:
                problems.append(f"number {item['value']} but the fixture gives {got}")
    if "names" in sql:
        values = [str(v) for v in flat(query(conn, sql["names"], case.today))]
        literal = [_first(n) for n in expect["names"][: len(values)]]
        if sorted(values) != sorted(literal):
            problems.append(f"names {literal} but the fixture gives {values}")
    if "ordered" in sql:
        values = [str(v) for v in flat(query(conn, sql["ordered"], case.today))]
        literal = [_first(n) for n in expect["ordered"]]
        if values != literal:
            problems.append(f"ordered {literal} but the fixture gives {values}")
    conn.close()
    return problems


def test_cases_carry_sql_expectations() -> None:
    # The fixture check is only as good as its coverage: at least a quarter of the cases.
    with_sql = {case.id for case, _ in SQL_TURNS}
    assert len(with_sql) >= len(CASES) // 4


@pytest.mark.parametrize(
    ("case", "index"), SQL_TURNS, ids=[f"{c.id}#{i + 1}" for c, i in SQL_TURNS]
)
def test_sql_expectations_match_the_fixture(case: Case, index: int) -> None:
    assert recompute(case, index) == []


# ---- the helper views against hand-worked facts (evals/fixtures/README.md) -----------------


def test_views_reproduce_hand_checked_facts() -> None:
    conn = fixture_db()

    def one(sql: str) -> Any:
        return query(conn, sql)[0][0]

    # Boundaries of "stuck" (> 14 days): lead-0284 changed 2026-11-03 → 15 days → stuck;
    # lead-0300 changed 2026-11-04 → 14 days → not stuck.
    assert one("SELECT days_in_status FROM lead_flags WHERE id = 'lead-0284'") == 15
    assert one("SELECT stuck FROM lead_flags WHERE id = 'lead-0284'") == 1
    assert one("SELECT stuck FROM lead_flags WHERE id = 'lead-0300'") == 0
    # Needs action (> 2 days in the first status): lead-0348 (3 days) yes, lead-0349 (2) no.
    assert one("SELECT needs_action FROM lead_flags WHERE id = 'lead-0348'") == 1
    assert one("SELECT needs_action FROM lead_flags WHERE id = 'lead-0349'") == 0
    # Harbor's custom pipeline: "Closed won" is its won status.
    assert one("SELECT status_kind FROM lead_facts WHERE status = 'Closed won' LIMIT 1") == "won"
    # Beacon: 8 won of 14 leads → 57.1 %.
    assert one(
        "SELECT ROUND(100.0 * SUM(status_kind = 'won') / COUNT(*), 1) FROM lead_facts "
        "WHERE channel_id = 'ch-beacon'"
    ) == pytest.approx(57.1)
    # rpt-delta-2026-08: 3 approved, period end 2026-08-31, 79 days before today → attention.
    assert query(
        conn, "SELECT state, needs_attention FROM report_facts WHERE id = 'rpt-delta-2026-08'"
    ) == [("awaiting payment", 1)]
    # rpt-cobalt-2026-10: approved, period end 2026-10-31 only 18 days ago → no attention.
    assert one("SELECT needs_attention FROM report_facts WHERE id = 'rpt-cobalt-2026-10'") == 0
    conn.close()


def test_other_org_loads_without_optional_files() -> None:
    # other-org/ has no pipeline.csv: every lead gets the default pipeline's kind.
    conn = fixture_db(FIXTURES / "other-org")
    assert query(conn, "SELECT COUNT(*) FROM lead_facts") == [(20,)]
    assert query(conn, "SELECT COUNT(*) FROM lead_facts WHERE status_kind = 'won'") == [(4,)]
    conn.close()
