"""`keen keys create|list|revoke` (API keys) and `keen widget-token` (short-lived staff tokens)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

keys_app = typer.Typer(help="Manage API keys (stored hashed; a key is shown only once).")
console = Console()
err_console = Console(stderr=True)

ROLE_HELP = "viewer, manager, finance or admin."


def _fail(message: str) -> typer.Exit:
    err_console.print(f"[red]{message}[/red]", highlight=False)
    return typer.Exit(2)


@keys_app.command("create")
def create(
    org: Annotated[
        str | None, typer.Option("--org", help="Organization slug (default: the only one).")
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="chat (default) and/or actions; repeat.")
    ] = None,
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)] = "viewer",
    name: Annotated[str | None, typer.Option("--name", help="What the key is for.")] = None,
) -> None:
    """Create a key and print it ONCE (only its hash is kept)."""
    from domain.api_keys import ApiKeyError, create_key
    from domain.db import UnknownOrganization, get_engine, session_scope

    try:
        with session_scope(get_engine()) as session:
            created = create_key(session, org, scope or ["chat"], role, name)
    except (ApiKeyError, UnknownOrganization) as exc:
        raise _fail(str(exc)) from None
    info = created.info
    err_console.print(
        f"Created key {info.prefix} for {info.org_slug!r} "
        f"(scopes: {' '.join(info.scopes)}; role: {info.role}). "
        "Copy it now: it will not be shown again.",
        highlight=False,
    )
    typer.echo(created.key)


@keys_app.command("list")
def list_(
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
) -> None:
    """List keys (prefix, organization, scopes, role, state); secrets are never shown."""
    from domain.api_keys import list_keys
    from domain.db import UnknownOrganization, get_engine, session_scope

    try:
        with session_scope(get_engine()) as session:
            keys = list_keys(session, org)
    except UnknownOrganization as exc:
        raise _fail(str(exc)) from None
    if not keys:
        console.print("No API keys yet: create one with `keen keys create --org SLUG`.")
        return
    table = Table()
    table.add_column("prefix", no_wrap=True)
    for column in ("org", "name", "scopes", "role", "created", "state"):
        table.add_column(column)
    for key in keys:
        table.add_row(
            key.prefix,
            key.org_slug,
            key.name or "",
            " ".join(key.scopes),
            key.role,
            f"{key.created_at:%Y-%m-%d %H:%M}" if key.created_at else "",
            "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    prefix: Annotated[str, typer.Argument(help="The key's prefix, e.g. keen_ab12cd34.")],
) -> None:
    """Revoke a key at once; requests with it get 401 from now on."""
    from domain.api_keys import ApiKeyError, revoke_key
    from domain.db import get_engine, session_scope

    try:
        with session_scope(get_engine()) as session:
            info = revoke_key(session, prefix)
    except ApiKeyError as exc:
        raise _fail(str(exc)) from None
    console.print(f"Revoked {info.prefix} ({info.org_slug}).", highlight=False)


def widget_token(
    org: Annotated[
        str | None, typer.Option("--org", help="Organization slug (default: the only one).")
    ] = None,
    user: Annotated[str, typer.Option("--user", help="The staff member's email.")] = ...,  # type: ignore[assignment]
    role: Annotated[
        str | None,
        typer.Option("--role", help=f"{ROLE_HELP} Default: the user's role, else viewer."),
    ] = None,
    ttl: Annotated[int, typer.Option("--ttl", min=60, help="Lifetime in seconds.")] = 3600,
) -> None:
    """Mint a short-lived widget token for a staff member (what a host app does per page)."""
    from sqlalchemy import select

    from domain.db import UnknownOrganization, get_engine, resolve_org, session_scope
    from domain.models import StaffUser
    from domain.widget_tokens import MAX_TTL_S, mint_token

    try:
        with session_scope(get_engine()) as session:
            organization = resolve_org(session, org)
            known_role = session.scalar(
                select(StaffUser.role).where(
                    StaffUser.org_id == organization.id, StaffUser.email == user
                )
            )
            slug = organization.slug
    except UnknownOrganization as exc:
        raise _fail(str(exc)) from None
    if ttl > MAX_TTL_S:
        raise _fail(f"--ttl is at most {MAX_TTL_S} seconds (a week).")
    try:
        token = mint_token(slug, user, role or known_role or "viewer", ttl)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(token)
