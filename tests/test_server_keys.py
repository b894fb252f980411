"""API keys: shown once, stored as a SHA-256 hash, scoped to one organization, revocable."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.api_keys import (
    ApiKeyError,
    create_key,
    list_keys,
    normalise_prefix,
    revoke_key,
    verify_key,
)
from domain.db import UnknownOrganization, get_or_create_org
from domain.models import ApiKey, Organization


@pytest.fixture
def orgs(session: Session) -> Session:
    get_or_create_org(session, "acme")
    get_or_create_org(session, "globex")
    session.commit()
    return session


def test_key_format_and_only_the_hash_is_stored(orgs: Session) -> None:
    created = create_key(orgs, "acme", name="reporting")
    orgs.commit()
    # keen_ + 8 hex = the readable prefix; then "_" and the secret
    assert re.fullmatch(r"keen_[0-9a-f]{8}_[A-Za-z0-9_\-]{20,}", created.key)
    assert created.info.prefix == created.key[:13]
    row = orgs.scalar(select(ApiKey))
    assert row is not None
    assert row.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
    assert created.key not in (row.key_hash, row.prefix, row.name)
    assert (row.scopes, row.role, row.name) == ("chat", "viewer", "reporting")


def test_verify_returns_the_keys_organization_scopes_and_role(orgs: Session) -> None:
    created = create_key(orgs, "globex", scopes=["chat", "actions"], role="finance")
    orgs.commit()
    info = verify_key(orgs, created.key)
    assert info is not None
    assert (info.org_slug, info.scopes, info.role) == ("globex", ("chat", "actions"), "finance")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # one character changed
        lambda k: k + "x",  # one character more
        lambda k: k[:-1],  # one character less
        lambda k: k.replace("keen_", "neek_", 1),  # not a Keen key at all
        lambda k: "",
    ],
)
def test_verify_rejects_anything_but_the_exact_key(orgs: Session, mangle) -> None:  # type: ignore[no-untyped-def]
    created = create_key(orgs, "acme")
    orgs.commit()
    assert verify_key(orgs, mangle(created.key)) is None


def test_revoked_key_no_longer_verifies_and_keeps_first_revocation_time(orgs: Session) -> None:
    created = create_key(orgs, "acme")
    orgs.commit()
    first = revoke_key(orgs, created.info.prefix)
    orgs.commit()
    assert verify_key(orgs, created.key) is None
    again = revoke_key(orgs, created.info.prefix[len("keen_") :])  # the bare hex works too
    assert again.revoked_at == first.revoked_at
    assert not again.active


def test_revoke_unknown_prefix_is_an_error(orgs: Session) -> None:
    with pytest.raises(ApiKeyError, match="No key with prefix 'keen_00000000'"):
        revoke_key(orgs, "keen_00000000")


def test_prefix_forms_are_normalised() -> None:
    assert normalise_prefix("keen_ab12cd34") == "keen_ab12cd34"
    assert normalise_prefix("ab12cd34") == "keen_ab12cd34"
    assert normalise_prefix("keen_ab12cd34_secretpart") == "keen_ab12cd34"
    assert normalise_prefix("  keen_ab12cd34 ") == "keen_ab12cd34"


def test_list_is_per_organization_and_includes_revoked(orgs: Session) -> None:
    a1 = create_key(orgs, "acme", name="one")
    create_key(orgs, "acme", name="two")
    create_key(orgs, "globex", name="three")
    revoke_key(orgs, a1.info.prefix)
    orgs.commit()
    acme = list_keys(orgs, "acme")
    assert sorted(k.name or "" for k in acme) == ["one", "two"]
    assert {k.name: k.active for k in acme} == {"one": False, "two": True}
    assert len(list_keys(orgs)) == 3


@pytest.mark.parametrize(
    ("scopes", "role", "message"),
    [
        (["chat", "admin"], "viewer", "Unknown scope"),
        ([], "viewer", "at least one scope"),
        (["chat"], "owner", "Unknown role 'owner'"),
    ],
)
def test_bad_scope_or_role_is_refused(
    orgs: Session, scopes: list[str], role: str, message: str
) -> None:
    with pytest.raises(ApiKeyError, match=message):
        create_key(orgs, "acme", scopes=scopes, role=role)


def test_unknown_organization_is_refused_and_not_created(orgs: Session) -> None:
    with pytest.raises(UnknownOrganization):
        create_key(orgs, "acme-typo")
    slugs = set(orgs.scalars(select(Organization.slug)))
    assert slugs == {"acme", "globex"}
