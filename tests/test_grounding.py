"""The grounding guard, on hand-written answers and tool results."""

from __future__ import annotations

import json

from agent.grounding import check_grounding, numbers_in

TOOL = json.dumps(
    {
        "answer": {"count": 3, "totals": {"USD": "1250.50", "EUR": "300.00"}, "rate_pct": 12.5},
        "period": "last month (2026-10-01 to 2026-10-31)",
        "tables": [{"columns": ["id", "amount"], "rows": [["r-17", "450.00"]]}],
    }
)


def test_numbers_are_normalised() -> None:
    assert numbers_in("USD 1,250.50 and 300.00 and 12.5%") == {"1250.5", "300", "12.5"}


def test_grounded_answer_passes_with_formatting_differences() -> None:
    answer = "3 rewards: USD 1,250.50 and EUR 300. Conversion 12.5%. Reward r-17 is 450."
    report = check_grounding(answer, [TOOL])
    assert report.grounded, report.ungrounded


def test_dates_of_the_period_are_grounded() -> None:
    assert check_grounding("For last month (2026-10-01 to 2026-10-31).", [TOOL]).grounded


def test_invented_number_is_caught() -> None:
    report = check_grounding("You owe USD 1,300.00 on 4 rewards.", [TOOL])
    assert not report.grounded
    assert report.ungrounded == ("1300", "4")


def test_numbers_from_the_question_are_allowed() -> None:
    assert check_grounding("The top 5 channels:", [TOOL], question="top 5 channels").grounded
    assert not check_grounding("The top 5 channels:", [TOOL], question="top channels").grounded
