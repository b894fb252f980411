"""Prometheus metrics of the server, in a registry of its own (one per app, so tests can build
several apps in one process)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "keen_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "keen_http_request_duration_seconds",
            "Time to the end of the response (a whole stream for SSE routes).",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "keen_tool_calls",
            "Tool calls made by the assistant while answering, by tool.",
            ["tool"],
            registry=self.registry,
        )
        self.model_tokens = Counter(
            "keen_model_tokens",
            "Tokens of questions (prompt) and answers (completion), o200k tokenizer.",
            ["model", "kind"],
            registry=self.registry,
        )
        self.answers = Counter(
            "keen_answers",
            "Answers given, by surface and whether every number was traced to a tool result.",
            ["surface", "grounded"],
            registry=self.registry,
        )

    def record_answer(
        self,
        surface: str,
        model: str,
        tools: Iterable[str],
        grounded: bool,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None:
        for tool in tools:
            self.tool_calls.labels(tool=tool).inc()
        self.model_tokens.labels(model=model, kind="prompt").inc(prompt_tokens)
        self.model_tokens.labels(model=model, kind="completion").inc(completion_tokens)
        self.answers.labels(surface=surface, grounded=str(grounded).lower()).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str | None:
    """`/api/threads/{thread_id}` rather than each id, so label values stay few."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return str(getattr(route, "path", None))
        if match == Match.PARTIAL and partial is None:
            partial = str(getattr(route, "path", None))
    return partial


class MetricsMiddleware:
    """Counts every HTTP request and times it to the last byte sent."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes  # the known routes, matched before the app runs (413s included)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(self.routes, scope)
        method = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if route is None:  # a route of a mounted package (Slack), else unknown
                matched = scope.get("route")
                route = str(getattr(matched, "path", None) or "other")
            self.metrics.requests.labels(route=route, method=method, status=str(status)).inc()
            self.metrics.latency.labels(route=route, method=method).observe(
                time.perf_counter() - started
            )
