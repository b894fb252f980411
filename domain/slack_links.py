"""Which staff user a Slack user acts as: the link made by `keen slack link` (or configuration).

A Slack user acts as exactly one staff user of one organization, so the assistant answers with
that user's role and only that organization's data; an unlinked Slack user gets nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from domain.db import resolve_org
from domain.models import Organization, SlackLink, StaffUser

ANY_TEAM = ""
_SLACK_ID = re.compile(r"^[A-Z0-9]{2,32}$")


class UnknownStaffUser(LookupError):
    """No staff user with that email in the organization (users.csv holds them)."""


class InvalidSlackId(ValueError):
    """Not a Slack id such as U0123ABCD (users) or T0123ABCD (workspaces)."""


@dataclass(frozen=True)
class SlackIdentity:
    """Who a Slack user is in Keen: organization, staff user and role."""

    slack_user_id: str
    team_id: str
    org_slug: str
    email: str
    name: str | None
    role: str


def normalize_slack_id(value: str | None, what: str = "Slack user id") -> str:
    """Slack ids are upper-case letters and digits; "" (no team) stays ""."""
    value = (value or "").strip().upper()
    if value and not _SLACK_ID.match(value):
        raise InvalidSlackId(f"{what} {value!r} is not a Slack id (like U0123ABCD).")
    return value


def find_staff_user(session: Session, org: Organization, email: str) -> StaffUser:
    """The organization's staff user with this email (case-insensitive)."""
    staff = session.scalar(
        select(StaffUser).where(
            StaffUser.org_id == org.id, func.lower(StaffUser.email) == email.strip().lower()
        )
    )
    if staff is None:
        raise UnknownStaffUser(
            f"No staff user {email!r} in organization {org.slug!r} (load users.csv first)."
        )
    return staff


def _identity(link_user: str, team: str, org: Organization, staff: StaffUser) -> SlackIdentity:
    return SlackIdentity(
        slack_user_id=link_user,
        team_id=team,
        org_slug=org.slug,
        email=staff.email,
        name=staff.name,
        role=staff.role,
    )


def link_slack_user(
    session: Session,
    org_slug: str | None,
    slack_user_id: str,
    email: str,
    team_id: str | None = None,
) -> SlackIdentity:
    """Make `slack_user_id` (in `team_id`, or any workspace) act as the staff user `email`.

    Linking again replaces the earlier link: one Slack user, one staff user.
    """
    user_id = normalize_slack_id(slack_user_id)
    if not user_id:
        raise InvalidSlackId("The Slack user id is empty.")
    team = normalize_slack_id(team_id, "Slack team id")
    org = resolve_org(session, org_slug)
    staff = find_staff_user(session, org, email)
    link = session.scalar(
        select(SlackLink).where(SlackLink.team_id == team, SlackLink.slack_user_id == user_id)
    )
    if link is None:
        link = SlackLink(team_id=team, slack_user_id=user_id, org_id=org.id, staff_user_id=staff.id)
        session.add(link)
    else:
        link.org_id = org.id
        link.staff_user_id = staff.id
    session.flush()
    return _identity(user_id, team, org, staff)


def unlink_slack_user(session: Session, slack_user_id: str, team_id: str | None = None) -> bool:
    """Remove the link; False when there was none."""
    link = session.scalar(
        select(SlackLink).where(
            SlackLink.team_id == normalize_slack_id(team_id, "Slack team id"),
            SlackLink.slack_user_id == normalize_slack_id(slack_user_id),
        )
    )
    if link is None:
        return False
    session.delete(link)
    session.flush()
    return True


def _linked() -> Select[SlackLink, Organization, StaffUser]:
    return (
        select(SlackLink, Organization, StaffUser)
        .join(Organization, Organization.id == SlackLink.org_id)
        .join(
            StaffUser,
            (StaffUser.id == SlackLink.staff_user_id) & (StaffUser.org_id == SlackLink.org_id),
        )
    )


def list_slack_links(session: Session, org_slug: str | None = None) -> list[SlackIdentity]:
    """Every link (of one organization when `org_slug` is given), by organization and user."""
    query = _linked().order_by(Organization.slug, SlackLink.slack_user_id, SlackLink.team_id)
    if org_slug is not None:
        query = query.where(Organization.slug == org_slug)
    return [
        _identity(link.slack_user_id, link.team_id, org, staff)
        for link, org, staff in session.execute(query)
    ]


def find_slack_identity(
    session: Session, slack_user_id: str, team_id: str | None
) -> SlackIdentity | None:
    """The identity linked for this workspace, else the any-workspace link, else None."""
    team = (team_id or "").strip().upper()
    query = _linked().where(
        SlackLink.slack_user_id == (slack_user_id or "").strip().upper(),
        SlackLink.team_id.in_({team, ANY_TEAM}),
    )
    rows = list(session.execute(query))
    rows.sort(key=lambda row: row[0].team_id != team)  # the exact workspace first
    if not rows:
        return None
    link, org, staff = rows[0]
    return _identity(link.slack_user_id, link.team_id, org, staff)


def identity_from_config(
    session: Session, slack_user_id: str, org_slug: str, email: str
) -> SlackIdentity | None:
    """A configured mapping (no database link), checked against the staff users; None if stale."""
    org = session.scalar(select(Organization).where(Organization.slug == org_slug))
    if org is None:
        return None
    try:
        staff = find_staff_user(session, org, email)
    except UnknownStaffUser:
        return None
    return _identity(slack_user_id, ANY_TEAM, org, staff)
