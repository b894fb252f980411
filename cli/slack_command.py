"""`keen slack link|unlink|list`: which staff user each Slack user acts as.

The domain and database modules are imported inside each command so `keen --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Link Slack users to Keen staff users.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

SlackUserOption = Annotated[
    str,
    typer.Option("--slack-user", help="Slack user id, e.g. U0123ABCD (profile → Copy member ID)."),
]
TeamOption = Annotated[
    str | None,
    typer.Option("--team", help="Slack workspace id (T…); default: any workspace."),
]


@app.command()
def link(
    slack_user: SlackUserOption,
    user: Annotated[str, typer.Option("--user", help="Email of the staff user (users.csv).")],
    org: Annotated[
        str | None, typer.Option("--org", help="Organization slug (default: the only one).")
    ] = None,
    team: TeamOption = None,
) -> None:
    """Let a Slack user ask the assistant as a staff user (with that user's role)."""
    from domain.db import UnknownOrganization, get_engine, session_scope
    from domain.slack_links import InvalidSlackId, UnknownStaffUser, link_slack_user

    try:
        with session_scope(get_engine()) as session:
            identity = link_slack_user(session, org, slack_user, user, team)
    except (UnknownOrganization, UnknownStaffUser, InvalidSlackId) as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    where = f"in workspace {identity.team_id}" if identity.team_id else "in any workspace"
    console.print(
        f"Linked Slack user {identity.slack_user_id} ({where}) to {identity.email} "
        f"({identity.role}) of organization {identity.org_slug!r}."
    )


@app.command()
def unlink(slack_user: SlackUserOption, team: TeamOption = None) -> None:
    """Remove a Slack user's link; the assistant then politely refuses them."""
    from domain.db import get_engine, session_scope
    from domain.slack_links import InvalidSlackId, unlink_slack_user

    try:
        with session_scope(get_engine()) as session:
            removed = unlink_slack_user(session, slack_user, team)
    except InvalidSlackId as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not removed:
        err_console.print(f"[yellow]Slack user {slack_user} was not linked.[/yellow]")
        raise typer.Exit(1)
    console.print(f"Unlinked Slack user {slack_user.strip().upper()}.")


@app.command("list")
def list_links(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
) -> None:
    """Show every Slack user link."""
    from domain.db import get_engine, session_scope
    from domain.slack_links import list_slack_links

    with session_scope(get_engine()) as session:
        links = list_slack_links(session, org)
    if not links:
        console.print("No Slack users are linked yet: use `keen slack link`.")
        return
    table = Table(title="Slack users")
    for column in ("slack user", "workspace", "organization", "email", "name", "role"):
        table.add_column(column)
    for item in links:
        table.add_row(
            item.slack_user_id,
            item.team_id or "any",
            item.org_slug,
            item.email,
            item.name or "",
            item.role,
        )
    console.print(table)
