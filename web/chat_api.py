"""`/api`: ask (whole answer or server-sent events) and read a thread back."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.answer import Answer
from web.answering import ask, check_question, history, resume, start_stream
from web.auth import Principal, require_scope
from web.schemas import (
    THREAD_ID_PATTERN,
    ChatRequest,
    ErrorBody,
    ResumeRequest,
    ThreadHistory,
    Turn,
)
from web.steps import step_label

log = logging.getLogger("keen.web")

router = APIRouter(prefix="/api", tags=["chat"])
Chatter = Annotated[Principal, Depends(require_scope("chat"))]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
STREAM_FAILED = "The assistant could not finish this answer; please try again."


def surface_of(principal: Principal) -> str:
    return "widget" if principal.kind == "widget" else "api"


@router.post("/chat", response_model=Answer, responses=ERRORS)
async def chat(body: ChatRequest, request: Request, principal: Chatter) -> Answer:
    """Ask a question; the answer object is the same as `keen ask --json`."""
    question = check_question(body.message)
    return await ask(
        request, principal, surface_of(principal), question, body.thread_id, body.channel_id
    )


def _sse(event: dict[str, Any]) -> ServerSentEvent:
    kind = event.get("type")
    if kind == "step":
        tool = str(event.get("tool", ""))
        data = {"tool": tool, "args": event.get("args") or {}, "label": step_label(tool)}
        return ServerSentEvent(json.dumps(data, default=str), event="step")
    if kind == "token":
        return ServerSentEvent(json.dumps({"text": event.get("text", "")}), event="token")
    if kind == "answer":
        return ServerSentEvent(event["answer"].model_dump_json(), event="answer")
    return ServerSentEvent(json.dumps(event, default=str), event=str(kind or "message"))


async def _sse_stream(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in events:
            yield _sse(event)
    except Exception:
        log.exception("stream failed")
        yield ServerSentEvent(json.dumps({"error": STREAM_FAILED}), event="error")


@router.post(
    "/chat/stream",
    responses={
        **ERRORS,
        200: {
            "content": {"text/event-stream": {}},
            "description": "Events `step` {tool, args, label}, `token` {text}, then `answer` "
            "(the answer object); `error` {error} if the answer fails midway.",
        },
    },
)
async def chat_stream(body: ChatRequest, request: Request, principal: Chatter) -> Any:
    """The same answer as server-sent events: steps and tokens as they happen, then the answer."""
    question = check_question(body.message)
    events = await start_stream(
        request, principal, surface_of(principal), question, body.thread_id, body.channel_id
    )
    return EventSourceResponse(
        _sse_stream(events), ping=15, sep="\n", headers={"Cache-Control": "no-store"}
    )


@router.get("/threads/{thread_id}", response_model=ThreadHistory, responses=ERRORS)
async def thread_history(
    request: Request,
    principal: Chatter,
    thread_id: Annotated[str, Path(pattern=THREAD_ID_PATTERN)],
) -> ThreadHistory:
    """The questions and answers of one of your threads (404 for anyone else's)."""
    turns = await history(request, principal, surface_of(principal), thread_id)
    return ThreadHistory(thread_id=thread_id, turns=[Turn(**turn) for turn in turns])


@router.post("/threads/{thread_id}/resume", response_model=Answer, responses=ERRORS)
async def resume_thread(
    body: ResumeRequest,
    request: Request,
    principal: Chatter,
    thread_id: Annotated[str, Path(pattern=THREAD_ID_PATTERN)],
) -> Answer:
    """Decide on the change the thread waits on: approve (it is made once), reject, or edit.

    403 when the caller's role or key may not make the change (it stays pending), 409 when
    `action_id` is not what the thread waits on (already decided, or replaced).
    """
    return await resume(
        request,
        principal,
        surface_of(principal),
        thread_id,
        body.action_id,
        body.decision,
        body.args,
    )
