"""Asking the assistant from a request: checks, worker threads, error mapping, metrics.

Shared by the Keen API and the OpenAI-compatible endpoints so both behave the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from agent.answer import Answer
from agent.service import MAX_QUESTION_CHARS, ActionNotPending, QuestionRejected, ThreadNotFound
from domain.db import UnknownOrganization
from domain.permissions import NotAllowed
from web.auth import Principal
from web.errors import ApiError
from web.metrics import Metrics
from web.threads import iterate_in_thread
from web.tokens import count_tokens


def check_question(message: str) -> str:
    question = message.strip()
    if not question:
        raise ApiError(400, "The message is empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(
            413,
            f"The message is too long ({len(question):,} characters; at most "
            f"{MAX_QUESTION_CHARS:,}).",
        )
    return question


REFUSALS = (ThreadNotFound, QuestionRejected, UnknownOrganization, ActionNotPending, NotAllowed)


def as_api_error(exc: BaseException) -> ApiError | None:
    """The assistant's refusals as HTTP errors; None for anything unexpected."""
    if isinstance(exc, ThreadNotFound):
        # the same answer whether the thread is missing or someone else's
        return ApiError(404, "Thread not found.")
    if isinstance(exc, QuestionRejected):
        return ApiError(400, str(exc))
    if isinstance(exc, ActionNotPending):
        return ApiError(409, str(exc))
    if isinstance(exc, NotAllowed):
        return ApiError(403, str(exc))
    if isinstance(exc, UnknownOrganization):
        # never list the organizations that do exist
        return ApiError(401, "The credential's organization does not exist.")
    return None


def _refusal(exc: BaseException) -> ApiError:
    error = as_api_error(exc)
    assert error is not None, "only called for REFUSALS"
    return error


def _assistant(request: Request) -> Any:
    return request.app.state.assistant


def _today(request: Request) -> Any:
    return request.app.state.today


def record(request: Request, surface: str, question: str, answer: Answer) -> None:
    metrics: Metrics = request.app.state.metrics
    metrics.record_answer(
        surface=surface,
        model=answer.model,
        tools=[call.name for call in answer.tool_calls],
        grounded=answer.grounded,
        prompt_tokens=count_tokens(question),
        completion_tokens=count_tokens(answer.answer),
    )


async def history(request: Request, principal: Principal, surface: str, thread_id: str) -> Any:
    try:
        return await run_in_threadpool(
            _assistant(request).history, thread_id, principal.asker(surface)
        )
    except REFUSALS as exc:
        raise _refusal(exc) from exc


async def ask(
    request: Request,
    principal: Principal,
    surface: str,
    question: str,
    thread_id: str | None,
    channel_id: str | None,
) -> Answer:
    try:
        answer: Answer = await run_in_threadpool(
            _assistant(request).ask,
            question,
            principal.asker(surface),
            thread_id=thread_id,
            channel_id=channel_id,
            today=_today(request),
        )
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    await run_in_threadpool(record, request, surface, question, answer)
    return answer


async def resume(
    request: Request,
    principal: Principal,
    surface: str,
    thread_id: str,
    action_id: str,
    decision: str,
    args: dict[str, Any] | None,
) -> Answer:
    try:
        answer: Answer = await run_in_threadpool(
            _assistant(request).resume,
            thread_id,
            principal.asker(surface),
            action_id,
            decision,
            args,
            _today(request),
        )
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    await run_in_threadpool(record, request, surface, f"{decision} {action_id}", answer)
    return answer


async def start_stream(
    request: Request,
    principal: Principal,
    surface: str,
    question: str,
    thread_id: str | None,
    channel_id: str | None,
) -> AsyncIterator[dict[str, Any]]:
    """The assistant's events; refusals that come before the first event (unknown thread)
    are raised here as HTTP errors, so they get a real status instead of an SSE event."""
    assistant = _assistant(request)
    events = iterate_in_thread(
        lambda: assistant.stream(
            question,
            principal.asker(surface),
            thread_id=thread_id,
            channel_id=channel_id,
            today=_today(request),
        )
    )
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = None
    except REFUSALS as exc:
        raise _refusal(exc) from exc

    async def chained() -> AsyncIterator[dict[str, Any]]:
        if first is not None:
            yield first
        async for event in events:
            yield event

    async def all_events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for event in chained():
                if event.get("type") == "answer":
                    await run_in_threadpool(record, request, surface, question, event["answer"])
                yield event
        finally:
            await events.aclose()

    return all_events()
