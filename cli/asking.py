"""`keen ask` and `keen chat`: the assistant in a terminal (Rich) or as JSON for scripts."""

from __future__ import annotations

import json
import sys
from datetime import date

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table


def _assistant():  # type: ignore[no-untyped-def]
    from agent.service import Assistant

    return Assistant()


def _render(answer, console: Console) -> None:  # type: ignore[no-untyped-def]
    console.print(Markdown(answer.answer))
    if not answer.grounded:
        console.print("[yellow]Note: some numbers could not be traced to a tool result.[/yellow]")


def run_ask(
    question: str,
    as_json: bool,
    today: date | None,
    thread: str | None,
    org: str | None,
    channel: str | None,
    console: Console,
    err_console: Console,
) -> int:
    from agent.service import Asker, QuestionRejected, ThreadNotFound
    from domain.db import UnknownOrganization

    try:
        answer = _assistant().ask(
            question, Asker(org_slug=org), thread_id=thread, channel_id=channel, today=today
        )
    except (QuestionRejected, ThreadNotFound, UnknownOrganization) as exc:
        if as_json:
            print(json.dumps({"error": str(exc)}))
        else:
            err_console.print(f"[red]{exc}[/red]")
        return 2
    if as_json:
        sys.stdout.write(answer.model_dump_json(exclude={"pending_action"}) + "\n")
    else:
        _render(answer, console)
        console.print(f"[dim]thread {answer.thread_id}[/dim]")
    return 0


def run_chat(org: str | None, today: date | None, channel: str | None, console: Console) -> int:
    """An interactive conversation in one thread; steps are shown while tools run."""
    from agent.service import Asker, QuestionRejected
    from domain.db import UnknownOrganization

    assistant = _assistant()
    thread: str | None = None
    console.print("[bold]Keen assistant[/bold] — ask about your partnerships (Ctrl-D to quit).")
    while True:
        try:
            question = console.input("[bold cyan]you>[/bold cyan] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not question:
            continue
        if question.lower() in {"exit", "quit", ":q"}:
            return 0
        try:
            with console.status("thinking…") as status:
                final = None
                for event in assistant.stream(
                    question, Asker(org_slug=org), thread_id=thread, channel_id=channel, today=today
                ):
                    if event["type"] == "step":
                        status.update(f"looking up {event['tool'].replace('_', ' ')}…")
                    elif event["type"] == "answer":
                        final = event["answer"]
        except (QuestionRejected, UnknownOrganization) as exc:
            console.print(f"[red]{exc}[/red]")
            continue
        if final is not None:
            thread = final.thread_id
            _render(final, console)
            if final.data and len(final.data[0].rows) > 10:
                _full_table(final.data[0], console)


def _full_table(table, console: Console) -> None:  # type: ignore[no-untyped-def]
    rich_table = Table(title=table.title)
    for column in table.columns:
        rich_table.add_column(str(column))
    for row in table.rows[:50]:
        rich_table.add_row(*("" if v is None else str(v) for v in row))
    console.print(rich_table)
