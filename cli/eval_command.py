"""`keen eval`: run the eval suite, print the report, write JSON/JUnit/markdown, gate on a bar.

Offline by default (no key, no network), so CI and a fresh clone can run it. Model runs are
opt-in: `keen eval --model openai:gpt-4.1-mini` with OPENAI_API_KEY set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli.loading import progress_bar
from evals.casefile import CASES_DIR, CaseError, load_cases, select_cases
from evals.report import gate, print_report, summarize, write_reports
from evals.runner import (
    AssistantLike,
    CaseOutcome,
    eval_environment,
    real_asker,
    real_assistant,
    run_cases,
    warm_up,
)

EXIT_BELOW_BAR = 1
EXIT_USAGE = 2
PINNED_TODAY = date(2026, 11, 18)  # the fixture's today, for the warm-up question


@dataclass
class EvalOptions:
    model: str = "offline"
    split: str = "all"
    repeat: int = 1
    categories: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    min_pass: float = 0.95
    min_grounding: float = 1.0
    out_dir: Path = Path("reports")
    cases_dir: Path = CASES_DIR
    price: tuple[float, float] | None = None
    show_failures: bool = True


def as_fraction(value: float) -> float:
    """0.95 and 95 both mean 95%."""
    return value / 100 if value > 1 else value


def run_eval(
    options: EvalOptions,
    console: Console,
    assistant: AssistantLike | None = None,
    make_asker: Callable[[Any], Any] | None = None,
) -> int:
    """Run the selected cases and write the reports; returns the exit code.

    With `assistant` given (tests), it is used as is; otherwise the real assistant runs in a
    throw-away data folder with the fixtures loaded.
    """
    try:
        cases = select_cases(
            load_cases(options.cases_dir), options.split, options.categories, options.ids
        )
    except CaseError as exc:
        console.print(f"[red]Invalid case file: {exc}[/red]")
        return EXIT_USAGE
    if not cases:
        console.print("[red]No case matches the selection.[/red]")
        return EXIT_USAGE
    bar = {
        "min_pass": as_fraction(options.min_pass),
        "min_grounding": as_fraction(options.min_grounding),
    }

    def execute(agent: AssistantLike) -> Any:
        with progress_bar(console) as progress:
            task = progress.add_task(f"eval ({options.model})", total=len(cases))

            def done(outcome: CaseOutcome) -> None:
                mark = "[green]✓[/green]" if outcome.passed else "[red]✗[/red]"
                progress.update(task, advance=1, description=f"{mark} {outcome.case.id}")

            return run_cases(
                agent,
                cases,
                model=options.model,
                repeat=options.repeat,
                make_asker=make_asker or real_asker,
                on_case_done=done,
            )

    if assistant is not None:
        result = execute(assistant)
    else:
        with eval_environment(options.model):
            agent = real_assistant(options.model)
            warm_up(agent, PINNED_TODAY)
            result = execute(agent)

    summary = summarize(result, options.price)
    print_report(result, summary, console, options.show_failures)
    paths = write_reports(result, summary, options.out_dir, bar)
    console.print("Reports: " + ", ".join(str(p) for p in paths.values()), highlight=False)
    reasons = gate(summary, bar["min_pass"], bar["min_grounding"])
    if reasons:
        console.print(f"[red]Below the bar: {'; '.join(reasons)}.[/red]")
        return EXIT_BELOW_BAR
    console.print(f"[green]Passed the bar ({bar['min_pass']:.0%}).[/green]")
    return 0


def eval_command(
    model: Annotated[
        str, typer.Option("--model", help="offline, or openai:MODEL (needs OPENAI_API_KEY).")
    ] = "offline",
    split: Annotated[str, typer.Option("--split", help="dev, test or all.")] = "all",
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="Runs per case; reports pass^k.")
    ] = 1,
    category: Annotated[
        list[str] | None, typer.Option("--category", help="Only this category (repeatable).")
    ] = None,
    case_id: Annotated[
        list[str] | None, typer.Option("--id", help="Only case ids matching this glob.")
    ] = None,
    min_pass: Annotated[
        float, typer.Option("--min-pass", help="Exit 1 below this pass rate (0.95 or 95).")
    ] = 0.95,
    min_grounding: Annotated[
        float, typer.Option("--min-grounding", help="Exit 1 below this grounding share.")
    ] = 1.0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the reports.")] = Path("reports"),
    cases: Annotated[Path, typer.Option("--cases", help="Folder of case files.")] = CASES_DIR,
    price_input: Annotated[
        float | None, typer.Option("--price-input", help="USD per million prompt tokens.")
    ] = None,
    price_output: Annotated[
        float | None, typer.Option("--price-output", help="USD per million completion tokens.")
    ] = None,
    show_failures: Annotated[
        bool, typer.Option("--show-failures/--hide-failures", help="List failing cases.")
    ] = True,
) -> None:
    """Run the eval suite and print the report (offline by default)."""
    if split not in ("dev", "test", "all"):
        raise typer.BadParameter("use dev, test or all", param_hint="--split")
    price = (price_input or 0.0, price_output or 0.0) if price_input or price_output else None
    options = EvalOptions(
        model=model,
        split=split,
        repeat=repeat,
        categories=list(category or []),
        ids=list(case_id or []),
        min_pass=min_pass,
        min_grounding=min_grounding,
        out_dir=out,
        cases_dir=cases,
        price=price,
        show_failures=show_failures,
    )
    raise typer.Exit(run_eval(options, Console()))
