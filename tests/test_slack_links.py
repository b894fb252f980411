"""Slack users → staff users: linking, lookup per workspace, configuration, and `keen slack`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app
from domain.db import UnknownOrganization, get_engine, session_scope
from domain.models import Organization, SlackLink, StaffUser
from domain.slack_links import (
    InvalidSlackId,
    UnknownStaffUser,
    find_slack_identity,
    identity_from_config,
    link_slack_user,
    list_slack_links,
    unlink_slack_user,
)
from slack_bot.settings import SlackSettings


def _org(session: Session, slug: str, *staff: tuple[str, str, str]) -> Organization:
    org = Organization(slug=slug, name=slug.title())
    session.add(org)
    session.flush()
    for ext_id, email, role in staff:
        session.add(StaffUser(org_id=org.id, ext_id=ext_id, email=email, name=ext_id, role=role))
    session.flush()
    return org


@pytest.fixture
def two_orgs(session: Session) -> Session:
    _org(session, "acme", ("u-ana", "ana@acme.test", "admin"), ("u-bo", "bo@acme.test", "viewer"))
    _org(session, "zeta", ("u-cy", "cy@zeta.test", "finance"))
    return session


def test_link_by_email_any_case_carries_the_role(two_orgs: Session) -> None:
    identity = link_slack_user(two_orgs, "acme", "u0abc", "Ana@ACME.test")
    assert (identity.slack_user_id, identity.team_id) == ("U0ABC", "")
    assert (identity.org_slug, identity.email, identity.role) == ("acme", "ana@acme.test", "admin")
    assert find_slack_identity(two_orgs, "U0ABC", "T999") == identity


def test_linking_again_replaces_the_link(two_orgs: Session) -> None:
    link_slack_user(two_orgs, "acme", "U0ABC", "ana@acme.test")
    link_slack_user(two_orgs, "zeta", "U0ABC", "cy@zeta.test")
    assert len(two_orgs.scalars(select(SlackLink)).all()) == 1
    identity = find_slack_identity(two_orgs, "U0ABC", None)
    assert identity is not None and (identity.org_slug, identity.role) == ("zeta", "finance")


def test_workspace_link_wins_over_any_workspace(two_orgs: Session) -> None:
    link_slack_user(two_orgs, "acme", "U0ABC", "bo@acme.test")
    link_slack_user(two_orgs, "zeta", "U0ABC", "cy@zeta.test", team_id="T1")
    in_t1 = find_slack_identity(two_orgs, "U0ABC", "T1")
    elsewhere = find_slack_identity(two_orgs, "U0ABC", "T2")
    assert in_t1 is not None and in_t1.org_slug == "zeta"
    assert elsewhere is not None and elsewhere.org_slug == "acme"


def test_workspace_only_link_does_not_apply_elsewhere(two_orgs: Session) -> None:
    link_slack_user(two_orgs, "acme", "U0ABC", "ana@acme.test", team_id="T1")
    assert find_slack_identity(two_orgs, "U0ABC", "T2") is None
    assert find_slack_identity(two_orgs, "U0OTHER", "T1") is None


def test_staff_user_must_belong_to_the_organization(two_orgs: Session) -> None:
    with pytest.raises(UnknownStaffUser):
        link_slack_user(two_orgs, "acme", "U0ABC", "cy@zeta.test")
    with pytest.raises(UnknownOrganization):
        link_slack_user(two_orgs, "nope", "U0ABC", "ana@acme.test")
    with pytest.raises(InvalidSlackId):
        link_slack_user(two_orgs, "acme", "U-12 3", "ana@acme.test")
    with pytest.raises(InvalidSlackId):
        link_slack_user(two_orgs, "acme", "  ", "ana@acme.test")


def test_unlink(two_orgs: Session) -> None:
    link_slack_user(two_orgs, "acme", "U0ABC", "ana@acme.test", team_id="T1")
    assert unlink_slack_user(two_orgs, "U0ABC") is False  # the any-workspace link does not exist
    assert unlink_slack_user(two_orgs, "u0abc", "t1") is True
    assert find_slack_identity(two_orgs, "U0ABC", "T1") is None


def test_list_per_organization(two_orgs: Session) -> None:
    link_slack_user(two_orgs, "zeta", "U03", "cy@zeta.test")
    link_slack_user(two_orgs, "acme", "U02", "bo@acme.test")
    link_slack_user(two_orgs, "acme", "U01", "ana@acme.test")
    assert [(i.org_slug, i.slack_user_id) for i in list_slack_links(two_orgs)] == [
        ("acme", "U01"),
        ("acme", "U02"),
        ("zeta", "U03"),
    ]
    assert [i.email for i in list_slack_links(two_orgs, "zeta")] == ["cy@zeta.test"]


def test_configured_mapping_is_checked_against_staff_users(two_orgs: Session) -> None:
    identity = identity_from_config(two_orgs, "U0CFG", "acme", "BO@acme.test")
    assert identity is not None and (identity.role, identity.email) == ("viewer", "bo@acme.test")
    assert identity_from_config(two_orgs, "U0CFG", "acme", "gone@acme.test") is None
    assert identity_from_config(two_orgs, "U0CFG", "nope", "bo@acme.test") is None


def test_slack_user_map_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "SLACK_USER_MAP", "u01=acme:ana@acme.test, U02 = zeta:cy@zeta.test;broken;U03=acme"
    )
    assert SlackSettings().user_links() == {
        "U01": ("acme", "ana@acme.test"),
        "U02": ("zeta", "cy@zeta.test"),
    }


def test_keen_slack_link_list_unlink() -> None:
    with session_scope(get_engine()) as session:
        _org(session, "default", ("u-maya", "maya@lumen.test", "admin"))
    runner = CliRunner()
    linked = runner.invoke(
        app, ["slack", "link", "--slack-user", "U0MAYA", "--user", "maya@lumen.test"]
    )
    assert linked.exit_code == 0, linked.output
    assert "U0MAYA" in linked.output and "admin" in linked.output
    listed = runner.invoke(app, ["slack", "list"])
    assert listed.exit_code == 0 and "maya@lumen.test" in listed.output
    unknown = runner.invoke(
        app, ["slack", "link", "--slack-user", "U0X", "--user", "who@lumen.test"]
    )
    assert unknown.exit_code == 2
    assert runner.invoke(app, ["slack", "unlink", "--slack-user", "U0MAYA"]).exit_code == 0
    assert runner.invoke(app, ["slack", "unlink", "--slack-user", "U0MAYA"]).exit_code == 1
