"""`/v1`: the OpenAI Chat Completions format, so existing OpenAI clients work unchanged.

The last user message is the question; earlier messages are not replayed (the assistant keeps
its own memory per thread). To continue a conversation, send either
- the header `X-Keen-Thread: <thread id>` (an id returned earlier, e.g. by /api/chat), or
- the `user` field: a conversation name of your choice, kept per API key.
Every response carries the thread in the `X-Keen-Thread` header and in `keen.thread_id`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent.answer import Answer
from web.answering import ask, check_question, start_stream
from web.auth import Principal, require_scope
from web.errors import ApiError
from web.schemas import THREAD_ID_PATTERN, ErrorBody
from web.tokens import count_tokens

log = logging.getLogger("keen.web")

MODEL_ID = "keen-assistant"
SURFACE = "openai"
THREAD_HEADER = "X-Keen-Thread"
CREATED = 1_767_225_600  # 2026-01-01, the model's "created" date in /v1/models

router = APIRouter(prefix="/v1", tags=["openai-compatible"])
Chatter = Annotated[Principal, Depends(require_scope("chat"))]
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 413, 422, 429)
}


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None


class CompletionRequest(BaseModel):
    """Other OpenAI fields (temperature, max_tokens, ...) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    user: str | None = Field(
        default=None, max_length=200, description="A conversation name, kept per API key."
    )


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) for part in content if part.get("type") == "text"
        )
    return content or ""


def _question(body: CompletionRequest) -> str:
    for message in reversed(body.messages):
        if message.role == "user":
            return check_question(_text(message.content))
    raise ApiError(400, "No user message: the last message with role 'user' is the question.")


def _thread_id(principal: Principal, header: str | None, user: str | None) -> str:
    if header:
        if not re.fullmatch(THREAD_ID_PATTERN, header):
            raise ApiError(422, f"Invalid {THREAD_HEADER} header: letters, digits and _.:- only.")
        return header
    if user:
        # a name chosen by the client, scoped to the caller so two keys never share a thread
        digest = hashlib.sha256(f"{principal.org_slug}\0{principal.user}\0{user}".encode())
        return "oa_" + digest.hexdigest()[:32]
    return uuid.uuid4().hex  # known before streaming starts, so the header can carry it


def _usage(question: str, answer: str) -> dict[str, int]:
    prompt, completion = count_tokens(question), count_tokens(answer)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _keen(answer: Answer) -> dict[str, Any]:
    """Keen's extras beside the OpenAI fields: clients that do not know them ignore them."""
    return answer.model_dump(mode="json", include={"thread_id", "tool_calls", "data", "grounded"})


@router.get("/models")
async def list_models(_principal: Chatter) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": MODEL_ID, "object": "model", "created": CREATED, "owned_by": "keen"}],
    }


@router.post("/chat/completions", responses=ERRORS)
async def chat_completions(
    body: CompletionRequest,
    request: Request,
    principal: Chatter,
    x_keen_thread: Annotated[str | None, Header(alias=THREAD_HEADER)] = None,
) -> Any:
    """Chat Completions; `stream: true` sends `chat.completion.chunk`s and `data: [DONE]`."""
    question = _question(body)
    thread_id = _thread_id(principal, x_keen_thread, body.user)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        events = await start_stream(request, principal, SURFACE, question, thread_id, None)
        return EventSourceResponse(
            _chunks(events, completion_id, created, question),
            sep="\n",
            ping=15,
            headers={"Cache-Control": "no-store", THREAD_HEADER: thread_id},
        )
    answer = await ask(request, principal, SURFACE, question, thread_id, None)
    payload = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(question, answer.answer),
        "keen": _keen(answer),
    }
    return JSONResponse(payload, headers={THREAD_HEADER: answer.thread_id})


def _chunk(completion_id: str, created: int, delta: dict[str, Any], finish: str | None) -> str:
    return json.dumps(
        {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
    )


def _remainder(streamed: str, final: str) -> str:
    """What the client still needs so that the streamed text ends as the final answer."""
    if final.startswith(streamed):
        return final[len(streamed) :]
    # the answer was rewritten after streaming began (a grounding retry): say so, then send it
    return "\n\n---\n\n" + final


async def _chunks(
    events: AsyncIterator[dict[str, Any]], completion_id: str, created: int, question: str
) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(
        _chunk(completion_id, created, {"role": "assistant", "content": ""}, None)
    )
    streamed = ""
    try:
        async for event in events:
            if event.get("type") == "token" and event.get("text"):
                streamed += event["text"]
                delta = {"content": event["text"]}
                yield ServerSentEvent(_chunk(completion_id, created, delta, None))
            elif event.get("type") == "answer":
                answer: Answer = event["answer"]
                rest = _remainder(streamed, answer.answer)
                if rest:
                    yield ServerSentEvent(_chunk(completion_id, created, {"content": rest}, None))
                final = json.loads(_chunk(completion_id, created, {}, "stop"))
                final["usage"] = _usage(question, answer.answer)
                final["keen"] = _keen(answer)
                yield ServerSentEvent(json.dumps(final))
    except Exception:
        log.exception("OpenAI-format stream failed")
        error = {"message": "The assistant could not finish this answer.", "type": "server_error"}
        yield ServerSentEvent(json.dumps({"error": error}))
    yield ServerSentEvent("[DONE]")
