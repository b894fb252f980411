"""API keys: one organization each, shown once, stored only as a SHA-256 hash.

A key looks like `keen_ab12cd34_<secret>`. The readable prefix (`keen_ab12cd34`) is stored in
clear so people can list and revoke keys without ever seeing a secret again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.db import resolve_org
from domain.enums import Role
from domain.models import ApiKey, Organization

KEY_MARK = "keen_"
SCOPES = ("chat", "actions")
DEFAULT_SCOPES = ("chat",)
DEFAULT_ROLE = Role.viewer


class ApiKeyError(ValueError):
    """A key request that cannot be honoured (unknown scope or role, unknown prefix)."""


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key after creation: everything but the secret."""

    prefix: str
    org_slug: str
    name: str | None
    scopes: tuple[str, ...]
    role: str
    created_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class CreatedKey:
    key: str  # the only moment the full key exists outside the caller's hands
    info: KeyInfo


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(s.strip().lower() for s in scopes if s.strip()))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown:
        raise ApiKeyError(f"Unknown scope(s) {', '.join(unknown)}; use {' or '.join(SCOPES)}.")
    if not chosen:
        raise ApiKeyError(f"A key needs at least one scope ({', '.join(SCOPES)}).")
    return chosen


def _check_role(role: str) -> str:
    try:
        return Role(role.strip().lower()).value
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise ApiKeyError(f"Unknown role {role!r}; use one of {roles}.") from None


def _info(row: ApiKey, org_slug: str) -> KeyInfo:
    return KeyInfo(
        prefix=row.prefix,
        org_slug=org_slug,
        name=row.name,
        scopes=tuple(row.scopes.split()),
        role=row.role,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def create_key(
    session: Session,
    org_slug: str | None,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    role: str = DEFAULT_ROLE,
    name: str | None = None,
) -> CreatedKey:
    """A new key for an existing organization (a typo must not create a new tenant)."""
    chosen_scopes = _check_scopes(scopes)
    chosen_role = _check_role(role)
    org = resolve_org(session, org_slug)
    prefix = f"{KEY_MARK}{secrets.token_hex(4)}"
    while session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        prefix = f"{KEY_MARK}{secrets.token_hex(4)}"
    key = f"{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(
        org_id=org.id,
        prefix=prefix,
        key_hash=hash_key(key),
        name=name,
        scopes=" ".join(chosen_scopes),
        role=chosen_role,
        created_at=_now(),
    )
    session.add(row)
    session.flush()
    return CreatedKey(key=key, info=_info(row, org.slug))


def list_keys(session: Session, org_slug: str | None = None) -> list[KeyInfo]:
    """Every key (or one organization's), newest first, revoked ones included."""
    query = select(ApiKey, Organization.slug).join(Organization, Organization.id == ApiKey.org_id)
    if org_slug is not None:
        query = query.where(ApiKey.org_id == resolve_org(session, org_slug).id)
    query = query.order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    return [_info(row, slug) for row, slug in session.execute(query)]


def normalise_prefix(prefix: str) -> str:
    """Accept `keen_ab12cd34`, `ab12cd34` or a whole key and return the stored prefix."""
    value = prefix.strip()
    if not value.startswith(KEY_MARK):
        value = KEY_MARK + value
    return KEY_MARK + value[len(KEY_MARK) :].split("_", 1)[0]


def revoke_key(session: Session, prefix: str) -> KeyInfo:
    """Revoke at once; revoking twice keeps the first revocation time."""
    stored = normalise_prefix(prefix)
    found = session.execute(
        select(ApiKey, Organization.slug)
        .join(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.prefix == stored)
    ).first()
    if found is None:
        raise ApiKeyError(f"No key with prefix {stored!r}.")
    row, slug = found
    if row.revoked_at is None:
        row.revoked_at = _now()
        session.flush()
    return _info(row, slug)


def verify_key(session: Session, key: str) -> KeyInfo | None:
    """The active key's details, or None for an unknown, malformed or revoked key.

    The lookup is by hash, so the secret is never compared in clear.
    """
    if not key.startswith(KEY_MARK) or len(key) > 200:
        return None
    found = session.execute(
        select(ApiKey, Organization.slug)
        .join(Organization, Organization.id == ApiKey.org_id)
        .where(ApiKey.key_hash == hash_key(key))
    ).first()
    if found is None:
        return None
    row, slug = found
    if row.revoked_at is not None:
        return None
    return _info(row, slug)
