"""Widget tokens: HMAC-SHA256 over org, user, role and expiry; tampered or expired → invalid."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from domain.settings import get_settings
from domain.widget_tokens import (
    WidgetTokenInvalid,
    mint_token,
    verify_token,
    widget_secret,
)

SECRET = b"test-secret"
NOW = 1_800_000_000.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_round_trip_carries_org_user_role_and_expiry() -> None:
    token = mint_token("acme", "ann@acme.test", "finance", 600, secret=SECRET, now=NOW)
    claims = verify_token(token, secret=SECRET, now=NOW)
    # expiry = now + ttl = 1_800_000_000 + 600
    assert (claims.org, claims.user, claims.role, claims.exp) == (
        "acme",
        "ann@acme.test",
        "finance",
        1_800_000_600,
    )


def test_valid_until_one_second_before_expiry_and_invalid_at_expiry() -> None:
    token = mint_token("acme", "ann@acme.test", ttl_s=600, secret=SECRET, now=NOW)
    verify_token(token, secret=SECRET, now=NOW + 599)
    with pytest.raises(WidgetTokenInvalid, match="expired"):
        verify_token(token, secret=SECRET, now=NOW + 600)


def test_changed_claims_break_the_signature() -> None:
    token = mint_token("acme", "ann@acme.test", "viewer", 600, secret=SECRET, now=NOW)
    mark, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"  # privilege escalation attempt
    forged = f"{mark}.{_b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(WidgetTokenInvalid, match="signature"):
        verify_token(forged, secret=SECRET, now=NOW)


def test_other_secret_or_changed_signature_is_invalid() -> None:
    token = mint_token("acme", "ann@acme.test", secret=SECRET, now=NOW)
    with pytest.raises(WidgetTokenInvalid):
        verify_token(token, secret=b"another-secret", now=NOW)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(WidgetTokenInvalid):
        verify_token(flipped, secret=SECRET, now=NOW)


@pytest.mark.parametrize("token", ["", "kwt", "kwt.a", "abc.def.ghi", "kwt.!!.??", "kwt.a.b.c"])
def test_malformed_tokens_are_invalid(token: str) -> None:
    with pytest.raises(WidgetTokenInvalid):
        verify_token(token, secret=SECRET, now=NOW)


def test_minting_checks_its_inputs() -> None:
    with pytest.raises(ValueError):
        mint_token("acme", "ann@acme.test", "owner", secret=SECRET)
    with pytest.raises(ValueError):
        mint_token("", "ann@acme.test", secret=SECRET)
    with pytest.raises(ValueError):
        mint_token("acme", "ann@acme.test", ttl_s=0, secret=SECRET)
    with pytest.raises(ValueError):
        mint_token("acme", "ann@acme.test", ttl_s=7 * 24 * 3600 + 1, secret=SECRET)


def test_secret_is_generated_once_into_the_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEN_WIDGET_SECRET", raising=False)
    data_dir: Path = get_settings().keen_data_dir
    first = widget_secret()
    path = data_dir / "widget_secret"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 40
    assert widget_secret() == first


def test_configured_secret_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEN_WIDGET_SECRET", "from-the-environment")
    assert widget_secret() == b"from-the-environment"
    token = mint_token("acme", "ann@acme.test")
    assert verify_token(token, secret=b"from-the-environment").org == "acme"
