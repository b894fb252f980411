"""Who is calling: an API key or a widget token in `Authorization: Bearer ...`.

The organization always comes from the credential, never from the request body. Order of
checks: 401 (no or bad credential), 403 (missing scope), 429 (over the key's rate).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from agent.service import Asker
from domain.api_keys import KEY_MARK, verify_key
from domain.db import get_engine, session_scope
from domain.widget_tokens import TOKEN_MARK, WidgetTokenInvalid, verify_token
from web.errors import ApiError
from web.ratelimit import RateLimiter

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    org_slug: str
    user: str  # threads belong to this user: the key's prefix or the staff member's email
    role: str
    scopes: frozenset[str]
    kind: str  # "api_key" or "widget"
    limit_key: str  # whose rate bucket this request spends from

    def asker(self, surface: str) -> Asker:
        return Asker(
            org_slug=self.org_slug,
            user=self.user,
            role=self.role,
            surface=surface,
            can_act="actions" in self.scopes,
        )


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if not header:
        raise ApiError(401, "Missing API key: send `Authorization: Bearer <key>`.", UNAUTHORIZED)
    if scheme.lower() != "bearer" or not credential.strip():
        raise ApiError(401, "Use `Authorization: Bearer <key>`.", UNAUTHORIZED)
    return credential.strip()


def _key_principal(credential: str) -> Principal | None:
    with session_scope(get_engine()) as session:
        info = verify_key(session, credential)
    if info is None:
        return None
    return Principal(
        org_slug=info.org_slug,
        user=f"key:{info.prefix}",
        role=info.role,
        scopes=frozenset(info.scopes),
        kind="api_key",
        limit_key=info.prefix,
    )


def _token_principal(credential: str, secret: bytes) -> Principal | None:
    try:
        claims = verify_token(credential, secret=secret)
    except WidgetTokenInvalid:
        return None
    return Principal(
        org_slug=claims.org,
        user=claims.user,
        role=claims.role,
        scopes=frozenset({"chat", "actions"}),  # the token's role decides what may change
        kind="widget",
        limit_key=f"widget:{claims.org}:{claims.user}",
    )


async def authenticate(request: Request) -> Principal:
    credential = _bearer(request)
    principal = None
    if credential.startswith(KEY_MARK):
        principal = await run_in_threadpool(_key_principal, credential)
    elif credential.startswith(TOKEN_MARK + "."):
        principal = _token_principal(credential, request.app.state.widget_secret)
    if principal is None:
        raise ApiError(401, "Invalid, expired or revoked credential.", UNAUTHORIZED)
    return principal


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the authenticated caller, holding `scope`, within its rate."""

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if scope not in principal.scopes:
            raise ApiError(403, f"This key lacks the {scope!r} scope.")
        limiter: RateLimiter = request.app.state.limiter
        wait = limiter.allow(principal.limit_key)
        if wait:
            raise ApiError(
                429,
                f"Too many requests for this key; retry in {int(wait)} s.",
                {"Retry-After": str(int(wait))},
            )
        request.state.principal = principal
        return principal

    return dependency
