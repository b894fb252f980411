"""Request and response bodies of the HTTP API (also what /docs shows)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

THREAD_ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,100}$"


class ChatRequest(BaseModel):
    """The organization is never part of the body: it comes from the credential."""

    model_config = ConfigDict(extra="ignore")

    message: str = Field(description="The question, at most 4,000 characters.")
    thread_id: str | None = Field(
        default=None,
        pattern=THREAD_ID_PATTERN,
        description="Continue this conversation (the `thread_id` of an earlier answer).",
    )
    channel_id: str | None = Field(
        default=None,
        max_length=100,
        description='Page context: the channel being looked at ("this channel").',
    )


class ResumeRequest(BaseModel):
    """A decision on the change a thread is waiting on (its answer's `pending_action`)."""

    model_config = ConfigDict(extra="forbid")

    action_id: str = Field(max_length=100, description="The `pending_action.id` decided on.")
    decision: Literal["approve", "reject", "edit"] = Field(
        description="approve: make the change; reject: drop it; edit: new arguments, which "
        "show a new confirmation."
    )
    args: dict[str, Any] | None = Field(
        default=None, description='For edit: the arguments to change, e.g. {"reward_ids": [...]}.'
    )


class Turn(BaseModel):
    role: str
    content: str


class ThreadHistory(BaseModel):
    thread_id: str
    turns: list[Turn]


class ErrorBody(BaseModel):
    error: str


class Health(BaseModel):
    status: str
    model: str
    demo: bool
