"""The eval runner on two tiny synthetic cases with a fake assistant: one right, one wrong.

Shows what CI relies on: the pass rate is computed per case, the JSON and JUnit reports are
written and parse, and the run exits non-zero below the --min-pass bar.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import cli.eval_command as eval_cli
from cli.eval_command import EvalOptions, run_eval
from cli.main import app
from evals.report import JSON_NAME, JUNIT_NAME, SUMMARY_NAME, percentile

CASES_YAML = """
- id: right-01
  split: test
  category: rewards
  today: 2026-11-18
  question: "Show me rewards that are approved but not paid"
  expect:
    tools: [{name: list_rewards, args: {status: approved}}]
    numbers: [12410.01, {value: 825, tolerance: 0.01}]
    names: [Fjord Solutions]
    says_period: true

- id: wrong-01
  split: dev
  category: patterns
  today: 2026-11-18
  question: "Which partners send few leads but convert well?"
  expect:
    # Deliberately wrong: the fixture's answer is Beacon Partners.
    names: [Atlas Advisory]
"""

ANSWERS = {
    "Show me rewards that are approved but not paid": (
        "36 rewards are approved but not paid: USD 12,410.01 and EUR 825.00 "
        "(Fjord Solutions). Period: all time.",
        [{"name": "list_rewards", "args": {"status": "approved"}}],
    ),
    "Which partners send few leads but convert well?": (
        "**Beacon Partners** sends few leads (14) but converts 57.1% of them.",
        [{"name": "find_patterns", "args": {}}],
    ),
}


class FakeAssistant:
    """Fixed answers; `grounded` can be switched off to test the grounding figure."""

    def __init__(self, grounded: bool = True, flaky: bool = False) -> None:
        self.grounded = grounded
        self.flaky = flaky
        self.calls: list[dict[str, Any]] = []

    def ask(
        self,
        question: str,
        asker: Any,
        thread_id: Any = None,
        channel_id: Any = None,
        today: Any = None,
    ) -> SimpleNamespace:
        self.calls.append({"question": question, "org": asker.org_slug, "today": today})
        text, tools = ANSWERS[question]
        if self.flaky and len(self.calls) % 2 == 0:
            text = "Something else entirely."
        return SimpleNamespace(
            answer=text, tool_calls=tools, thread_id="thread-1", grounded=self.grounded
        )


def fake_asker(case: Any) -> SimpleNamespace:
    return SimpleNamespace(org_slug=case.org, user="eval", role=case.role, surface="eval")


@pytest.fixture
def cases_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    (folder / "synthetic.yaml").write_text(CASES_YAML, encoding="utf-8")
    return folder


def _run(cases_dir: Path, out: Path, assistant: FakeAssistant, **options: Any) -> tuple[int, str]:
    buffer = io.StringIO()
    code = run_eval(
        EvalOptions(cases_dir=cases_dir, out_dir=out, **options),
        Console(file=buffer, width=200),
        assistant=assistant,
        make_asker=fake_asker,
    )
    return code, buffer.getvalue()


def test_one_right_one_wrong_is_half_and_below_the_bar(cases_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    fake = FakeAssistant()
    code, printed = _run(cases_dir, out, fake, min_pass=0.95)
    assert code == 1  # 1 of 2 cases passes: 50% < 95%
    assert "Below the bar" in printed
    assert "FAIL wrong-01" in printed
    # The case's pinned today and organization reach the assistant.
    assert {c["org"] for c in fake.calls} == {"default"}
    assert {str(c["today"]) for c in fake.calls} == {"2026-11-18"}

    report = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    assert report["summary"]["overall"]["pass_rate"] == 0.5
    assert report["summary"]["overall"]["grounding_share"] == 1.0
    by_id = {c["id"]: c for c in report["cases"]}
    assert by_id["right-01"]["passed"] is True
    assert by_id["wrong-01"]["passed"] is False
    failed = [c for c in by_id["wrong-01"]["runs"][0][0]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["name Atlas Advisory"]
    splits = {s["name"]: s["pass_rate"] for s in report["summary"]["by_split"]}
    assert splits == {"dev": 0.0, "test": 1.0}
    assert report["below_bar"] == ["pass rate 50.0% is below the bar 95.0%"]

    junit = ET.parse(out / JUNIT_NAME).getroot()
    assert junit.tag == "testsuites"
    assert (junit.get("tests"), junit.get("failures")) == ("2", "1")
    cases = {tc.get("name"): tc for tc in junit.iter("testcase")}
    assert cases["right-01"].find("failure") is None
    failure = cases["wrong-01"].find("failure")
    assert failure is not None and "Atlas Advisory" in failure.get("message", "")
    assert cases["wrong-01"].get("classname") == "eval.dev.patterns"

    summary = (out / SUMMARY_NAME).read_text(encoding="utf-8")
    assert "below the bar" in summary and "wrong-01" in summary


def test_at_or_above_the_bar_exits_zero(cases_dir: Path, tmp_path: Path) -> None:
    code, _ = _run(cases_dir, tmp_path / "r", FakeAssistant(), min_pass=50)  # 50 = 50%
    assert code == 0


def test_only_the_right_case_passes_the_default_bar(cases_dir: Path, tmp_path: Path) -> None:
    code, _ = _run(cases_dir, tmp_path / "r", FakeAssistant(), split="test")
    assert code == 0


def test_ungrounded_answers_fail_the_grounding_bar(cases_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    code, _ = _run(cases_dir, out, FakeAssistant(grounded=False), split="test")
    assert code == 1
    report = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))
    assert report["summary"]["overall"]["grounding_share"] == 0.0
    assert report["below_bar"] == ["grounding 0.0% is below the bar 100.0%"]


def test_repeat_reports_pass_hat_k(cases_dir: Path, tmp_path: Path) -> None:
    # The flaky fake answers every second call wrongly: right-01 passes run 1, fails run 2.
    out = tmp_path / "r"
    code, _ = _run(cases_dir, out, FakeAssistant(flaky=True), split="test", repeat=2, min_pass=0)
    assert code == 0
    overall = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))["summary"]["overall"]
    assert overall["pass_rate"] == 0.0  # pass^2: not every run passed
    assert overall["mean_run_pass_rate"] == 0.5  # 1 of 2 runs passed
    assert overall["questions"] == 2


def test_category_filter_and_empty_selection(cases_dir: Path, tmp_path: Path) -> None:
    fake = FakeAssistant()
    code, _ = _run(cases_dir, tmp_path / "r", fake, categories=["rewards"])
    assert code == 0 and len(fake.calls) == 1
    code, printed = _run(cases_dir, tmp_path / "r", FakeAssistant(), categories=["nothing"])
    assert code == 2 and "No case" in printed


def test_keen_eval_command_exit_code(
    cases_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def no_environment(model: str) -> Any:
        yield tmp_path

    monkeypatch.setattr(eval_cli, "eval_environment", no_environment)
    monkeypatch.setattr(eval_cli, "real_assistant", lambda model: FakeAssistant())
    monkeypatch.setattr(eval_cli, "warm_up", lambda agent, today: None)
    monkeypatch.setattr(eval_cli, "real_asker", fake_asker)
    out = tmp_path / "cli-reports"
    args = ["eval", "--cases", str(cases_dir), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert (out / JUNIT_NAME).exists() and (out / JSON_NAME).exists()
    assert CliRunner().invoke(app, [*args, "--min-pass", "0.5"]).exit_code == 0
    assert CliRunner().invoke(app, [*args, "--split", "test"]).exit_code == 0
    assert CliRunner().invoke(app, [*args, "--split", "nope"]).exit_code == 2


def test_percentile_is_nearest_rank() -> None:
    # 20 latencies 1..20: p95 = the 19th smallest (ceil(0.95 * 20) = 19); median 10.5.
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 95) == 19.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([], 95) is None


class TokenSpendingAssistant(FakeAssistant):
    """Calls a fake chat model per question, as the real agent calls its model."""

    def ask(
        self,
        question: str,
        asker: Any,
        thread_id: Any = None,
        channel_id: Any = None,
        today: Any = None,
    ) -> SimpleNamespace:
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
        from langchain_core.messages import AIMessage

        usage = {"input_tokens": 1000, "output_tokens": 200, "total_tokens": 1200}
        message = AIMessage("ok", usage_metadata=usage, response_metadata={"model_name": "m"})
        GenericFakeChatModel(messages=iter([message])).invoke(question)
        return super().ask(question, asker, thread_id, channel_id, today)


def test_model_runs_report_tokens_and_cost(cases_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "r"
    code, printed = _run(
        cases_dir, out, TokenSpendingAssistant(), split="test", model="openai:gpt-4.1-mini"
    )
    assert code == 0
    assert "cost/q" in printed
    overall = json.loads((out / JSON_NAME).read_text(encoding="utf-8"))["summary"]["overall"]
    assert overall["prompt_tokens_per_question"] == 1000
    assert overall["completion_tokens_per_question"] == 200
    # gpt-4.1-mini: 0.40 USD per million prompt tokens, 1.60 per million completion tokens:
    # 1000 × 0.40 / 1e6 + 200 × 1.60 / 1e6 = 0.0004 + 0.00032 = 0.00072 USD per question.
    assert overall["cost_per_question_usd"] == pytest.approx(0.00072)


def test_offline_runs_have_no_token_columns(cases_dir: Path, tmp_path: Path) -> None:
    _, printed = _run(cases_dir, tmp_path / "r", FakeAssistant(), split="test")
    assert "cost/q" not in printed and "tok/q" not in printed
