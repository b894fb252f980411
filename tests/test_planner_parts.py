"""Small, hand-checked pieces of the offline planner (the eval suite covers it end to end)."""

from __future__ import annotations

from agent.offline.compose import inert, markdown_table, money
from agent.offline.plan import _report_state
from agent.offline.slots import _record_ids, _top_n
from agent.offline.typos import repair_typos


def test_typos_in_domain_words_are_repaired_and_names_left_alone() -> None:
    assert repair_typos("Any reward reprots that need atention?") == (
        "Any reward reports that need attention?"
    )
    assert repair_typos("approve Beacon and Evergreen") == "approve Beacon and Evergreen"


def test_record_ids_are_found_but_periods_and_amounts_are_not() -> None:
    assert _record_ids("why does rpt-delta-2026-08 need attention?", None) == ["rpt-delta-2026-08"]
    assert _record_ids("how did we get to 1061.55 on rw-0052?", None) == ["rw-0052"]
    assert _record_ids("revenue in Q3 2026 and 2025-10", None) == []
    assert _record_ids("explain reward 77", None) == ["77"]


def test_top_n_in_digits_and_words() -> None:
    assert _top_n("top 5 channels") == 5
    assert _top_n("the best three partners") == 3
    assert _top_n("which channel is best") is None


def test_report_state_words() -> None:
    assert _report_state("which reports are waiting on payout") == "awaiting payment"
    assert _report_state("is the november report ready to be paid?") is None
    assert _report_state("which reports are fully paid") == "paid"


def test_data_is_rendered_inert() -> None:
    note = "Deck: ![Q3](https://evil.example/x.png) and [click](https://evil.example)"
    assert inert(note) == (
        "Deck: (image “Q3” from https://evil.example/x.png, not shown) and "
        "click (https://evil.example)"
    )


def test_money_is_per_currency_and_never_added() -> None:
    assert money({"USD": "12410.01", "EUR": "825.00"}) == "EUR 825.00 and USD 12,410.01"


def test_table_says_how_many_rows_the_tool_left_out() -> None:
    table = {"title": "X", "columns": ["id", "n"], "rows": [["a", 1], ["b", 2]], "left_out": 5}
    text = markdown_table(table)
    assert "| a | 1 |" in text and "| b | 2 |" in text
    assert "5 more not shown" in text
