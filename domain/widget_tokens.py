"""Short-lived staff tokens for the web widget, signed with HMAC-SHA256.

A host application mints one per signed-in staff member so the page never holds a long-lived
API key. Format (any language can mint it with the shared secret):

    kwt.<payload>.<signature>
    payload   = base64url(JSON {"org": slug, "user": email, "role": role, "exp": unix seconds})
    signature = base64url(HMAC-SHA256(secret, payload))      (base64url without "=" padding)

The secret is `KEEN_WIDGET_SECRET`, or one generated into `KEEN_DATA_DIR/widget_secret` on
first use, so the CLI that mints and the server that verifies agree without setup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.enums import Role
from domain.settings import get_settings

TOKEN_MARK = "kwt"
DEFAULT_TTL_S = 3600
MAX_TTL_S = 7 * 24 * 3600
SECRET_FILE = "widget_secret"


class WidgetTokenInvalid(ValueError):
    """Tampered, expired or malformed; the caller answers 401 without saying which."""


class _SecretSetting(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    secret: str | None = Field(default=None, validation_alias="KEEN_WIDGET_SECRET")


@dataclass(frozen=True)
class WidgetClaims:
    org: str
    user: str
    role: str
    exp: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def widget_secret(data_dir: Path | None = None) -> bytes:
    """The configured secret, else the one kept in the data folder (created once, mode 600)."""
    configured = _SecretSetting().secret
    if configured:
        return configured.encode("utf-8")
    path = (data_dir or get_settings().keen_data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode("utf-8")


def _sign(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def mint_token(
    org: str,
    user: str,
    role: str = Role.viewer,
    ttl_s: int = DEFAULT_TTL_S,
    secret: bytes | None = None,
    now: float | None = None,
) -> str:
    """A token for `user` of `org`, valid for `ttl_s` seconds (at most a week)."""
    if not org or not user:
        raise ValueError("A widget token needs an organization and a user.")
    if not 0 < ttl_s <= MAX_TTL_S:
        raise ValueError(f"The lifetime must be between 1 and {MAX_TTL_S} seconds.")
    role = Role(role).value
    exp = int((time.time() if now is None else now) + ttl_s)
    claims = {"org": org, "user": user, "role": role, "exp": exp}
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{TOKEN_MARK}.{payload}.{_sign(payload, secret or widget_secret())}"


def verify_token(token: str, secret: bytes | None = None, now: float | None = None) -> WidgetClaims:
    """The claims of a genuine, unexpired token; WidgetTokenInvalid otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_MARK or len(token) > 2000:
        raise WidgetTokenInvalid("malformed token")
    _, payload, signature = parts
    expected = _sign(payload, secret or widget_secret())
    if not hmac.compare_digest(expected, signature):
        raise WidgetTokenInvalid("bad signature")
    try:
        claims = json.loads(_unb64(payload))
        result = WidgetClaims(
            org=str(claims["org"]),
            user=str(claims["user"]),
            role=Role(claims["role"]).value,
            exp=int(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise WidgetTokenInvalid("unreadable claims") from exc
    if result.exp <= (time.time() if now is None else now):
        raise WidgetTokenInvalid("expired")
    return result
