"""The `keen` command line: load data, ask questions, chat, serve, evaluate, manage keys.

Heavy modules are imported inside each command so `keen --help` and `keen ask` start fast.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.eval_command import eval_command
from cli.keys_command import keys_app, widget_token
from cli.serve_command import serve
from cli.slack_command import app as slack_app

app = typer.Typer(
    help="Keen assistant: answers partnership questions from your data.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console()
err_console = Console(stderr=True)

OrgOption = Annotated[
    str | None, typer.Option("--org", help="Organization slug (default: the only one).")
]
TodayOption = Annotated[
    str | None, typer.Option("--today", help="Pin today's date (YYYY-MM-DD).", show_default=False)
]


def _parse_today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err_console.print(f"[red]--today must be a date like 2026-11-18, not {value!r}[/red]")
        raise typer.Exit(2) from None


@app.command()
def load(
    folder: Annotated[Path, typer.Argument(help="Dataset folder (see the dataset format).")],
    org: Annotated[str, typer.Option("--org", help="Organization slug.")] = "default",
) -> None:
    """Import a dataset folder, all or nothing; list every problem when it is invalid."""
    from cli.loading import run_load

    raise typer.Exit(run_load(folder, org, console, err_console))


@app.command()
def index(org: OrgOption = None) -> None:
    """Build or refresh the semantic search index (lead notes, partner notes, playbook)."""
    from cli.loading import build_index
    from domain.db import get_engine, resolve_org, session_scope

    with session_scope(get_engine()) as session:
        slug = resolve_org(session, org).slug
    with console.status("building the search index…"):
        build_index(slug, console)


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="Folder to write the dataset into.")],
    leads: Annotated[int, typer.Option("--leads", min=1, help="Number of leads.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
    today: TodayOption = None,
) -> None:
    """Write a realistic dataset of any size in the dataset format."""
    from cli.loading import run_generate

    run_generate(out_dir, leads, seed, _parse_today(today), console)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON.")
    ] = False,
    today: TodayOption = None,
    thread: Annotated[
        str | None, typer.Option("--thread", help="Continue this conversation.")
    ] = None,
    org: OrgOption = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Page context: the channel id.")
    ] = None,
) -> None:
    """Answer one question from the data."""
    from cli.asking import run_ask

    code = run_ask(
        question, as_json, _parse_today(today), thread, org, channel, console, err_console
    )
    raise typer.Exit(code)


@app.command()
def chat(
    org: OrgOption = None,
    today: TodayOption = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Page context: the channel id.")
    ] = None,
) -> None:
    """An interactive conversation in the terminal."""
    from cli.asking import run_chat

    raise typer.Exit(run_chat(org, _parse_today(today), channel, console))


@app.command()
def resume(
    decision: Annotated[str, typer.Argument(help="approve or reject")],
    thread: Annotated[str, typer.Option("--thread", help="The thread that waits.")],
    action: Annotated[
        str | None, typer.Option("--action", help="The pending action's id (default: the one).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the answer object as JSON.")
    ] = False,
    org: OrgOption = None,
    today: TodayOption = None,
) -> None:
    """Approve or reject the change a thread waits on (shown by `keen ask`)."""
    from cli.asking import run_resume

    code = run_resume(
        thread, decision, action, org, _parse_today(today), as_json, console, err_console
    )
    raise typer.Exit(code)


app.command("eval")(eval_command)
app.command("serve")(serve)
app.add_typer(keys_app, name="keys")
app.add_typer(slack_app, name="slack")
app.command("widget-token")(widget_token)


if __name__ == "__main__":
    app()
