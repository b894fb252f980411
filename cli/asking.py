"""`keen ask` and `keen chat`: the assistant in a terminal (Rich) or as JSON for scripts."""

from __future__ import annotations

import json
import sys
from datetime import date

from rich.console import Console
from rich.markdown import Markdown
from rich.prompt import Confirm
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
        return _failed(exc, as_json, err_console)
    _print(answer, as_json, console)
    return 0


def _failed(exc: Exception, as_json: bool, err_console: Console) -> int:
    if as_json:
        print(json.dumps({"error": str(exc)}))
    else:
        err_console.print(f"[red]{exc}[/red]")
    return 2


def _print(answer, as_json: bool, console: Console) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        sys.stdout.write(answer.model_dump_json() + "\n")
    else:
        _render(answer, console)
        console.print(f"[dim]thread {answer.thread_id}[/dim]")
        if answer.pending_action is not None:
            console.print(
                f"[dim]decide with: keen resume approve|reject --thread {answer.thread_id}[/dim]"
            )


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
        while final is not None:
            thread = final.thread_id
            _render(final, console)
            if final.data and len(final.data[0].rows) > 10:
                _full_table(final.data[0], console)
            final = _decide(assistant, final, Asker(org_slug=org), today, console)


def _decide(assistant, answer, asker, today: date | None, console: Console):  # type: ignore[no-untyped-def]
    """A paused change: ask y/n, resume the thread with the decision, return the next answer."""
    from agent.service import ActionNotPending
    from domain.permissions import NotAllowed

    pending = answer.pending_action
    if pending is None:
        return None
    try:
        approved = Confirm.ask("Approve this change?", console=console, default=False)
    except (EOFError, KeyboardInterrupt):
        approved = False
    decision = "approve" if approved else "reject"
    try:
        return assistant.resume(answer.thread_id, asker, pending.id, decision, today=today)
    except (ActionNotPending, NotAllowed) as exc:
        console.print(f"[red]{exc}[/red]")
        return None


def run_resume(
    thread: str,
    decision: str,
    action: str | None,
    org: str | None,
    today: date | None,
    as_json: bool,
    console: Console,
    err_console: Console,
) -> int:
    """`keen resume`: decide on the change a thread waits on (from `keen ask` output)."""
    from agent.service import ActionNotPending, Asker, QuestionRejected, ThreadNotFound
    from domain.permissions import NotAllowed

    assistant = _assistant()
    asker = Asker(org_slug=org)
    try:
        pending = assistant.pending(thread)
        action_id = action or (pending.id if pending else "")
        answer = assistant.resume(thread, asker, action_id, decision, today=today)
    except (ActionNotPending, NotAllowed, QuestionRejected, ThreadNotFound) as exc:
        return _failed(exc, as_json, err_console)
    _print(answer, as_json, console)
    return 0


def _full_table(table, console: Console) -> None:  # type: ignore[no-untyped-def]
    rich_table = Table(title=table.title)
    for column in table.columns:
        rich_table.add_column(str(column))
    for row in table.rows[:50]:
        rich_table.add_row(*("" if v is None else str(v) for v in row))
    console.print(rich_table)
