"""Who may change what: the roles of the actions feature.

`viewer` only asks questions; `manager` reviews leads and rewards (approve, reject, move a
lead, record a purchase, flag a report); `finance` marks rewards paid; `admin` does all of it.
Checked by the action layer itself, so no surface, model or prompt can skip it.
"""

from __future__ import annotations

from domain.enums import Role

REVIEW = frozenset({Role.manager, Role.admin})
PAYMENT = frozenset({Role.finance, Role.admin})

ACTION_ROLES: dict[str, frozenset[Role]] = {
    "approve_rewards": REVIEW,
    "reject_rewards": REVIEW,
    "move_lead": REVIEW,
    "record_purchase": REVIEW,
    "flag_reward_report": REVIEW,
    "mark_rewards_paid": PAYMENT,
}

ACTION_WORDS = {
    "approve_rewards": "Approving rewards",
    "reject_rewards": "Rejecting rewards",
    "move_lead": "Moving leads",
    "record_purchase": "Recording purchases",
    "flag_reward_report": "Flagging reward reports",
    "mark_rewards_paid": "Marking rewards paid",
}


class NotAllowed(PermissionError):
    """The caller's role (or credential) does not allow the action; the message says what does."""


def roles_for(kind: str) -> frozenset[Role]:
    return ACTION_ROLES[kind]


def check_allowed(role: str, kind: str) -> None:
    """Raise NotAllowed unless `role` may perform the action `kind`."""
    allowed = ACTION_ROLES[kind]
    try:
        current = Role(role)
    except ValueError:
        current = None
    if current in allowed:
        return
    needed = " or ".join(sorted(r.value for r in allowed))
    raise NotAllowed(
        f"{ACTION_WORDS[kind]} needs the {needed} role; your role is {role or 'unknown'}."
    )
