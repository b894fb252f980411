"""Bad input (issue #9, part 4): requests a client should never send, and corrupted dataset
folders. Every one gets a clear error (a 4xx with a JSON reason; `FILE:LINE: COLUMN: reason`
for a dataset), never a 500, and a failed load leaves the database exactly as it was
(row counts and a checksum of every table, read back with plain SQL).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from domain.importer import load_dataset
from domain.importer.problems import DatasetInvalid
from domain.models import Base
from tests.security_support import DEMO, ORG_A, ORG_B, OTHER, SecurityServer, post_slack
from web.testing import ROOT

pytest_plugins = ["tests.security_support"]  # the session-wide `security_server` fixture
pytestmark = pytest.mark.security

FIGURES = ROOT / "test-artifacts" / "security"
COUNTS: dict[str, int] = {}

# ----------------------------------------------------------------------------- HTTP

UNICODE = {
    "rtl override": "Which \u202eleads are stuck?",
    "zero width": "Which\u200b leads\u200d are\ufeff stuck?",
    "combining": "Which le\u0301ads are stu\u0308ck?",
    "emoji zwj": "Which leads are stuck? \U0001f469\u200d\U0001f469\u200d\U0001f467",
    "cjk": "哪些潜在客户卡住了？",
    "nul": "Which leads\u0000 are stuck?",
    "lone surrogate": "Which leads are stuck? \ud800",
    "line separators": "Which leads\u2028are\u2029stuck?",
    "4000 emoji": "\U0001f600" * 4000,
    "control chars": "Which leads are stuck?\x01\x02\x1b[31m",
}
BAD_BODIES: dict[str, tuple[bytes, set[int]]] = {
    "empty body": (b"", {422}),
    "empty message": (b'{"message": ""}', {400}),
    "blank message": (b'{"message": " \\n\\t "}', {400}),
    "100 kB message": (json.dumps({"message": "a" * 100_000}).encode(), {413}),
    "4001 characters": (json.dumps({"message": "b" * 4001}).encode(), {413}),
    "binary": (bytes(range(256)) * 4, {422}),
    "truncated JSON": (b'{"message": "hi', {422}),
    "trailing garbage": (b'{"message": "hi"} trailing', {422}),
    "JSON null": (b"null", {422}),
    "JSON string": (b'"Which leads are stuck?"', {422}),
    "NaN": (b'{"message": NaN}', {422}),
    "message int": (b'{"message": 42}', {422}),
    "message list": (b'{"message": ["a", "b"]}', {422}),
    "message object": (b'{"message": {"text": "hi"}}', {422}),
    "message null": (b'{"message": null}', {422}),
    "message bool": (b'{"message": true}', {422}),
    "thread_id int": (b'{"message": "hi", "thread_id": 7}', {422}),
    "thread_id list": (b'{"message": "hi", "thread_id": ["a"]}', {422}),
    "channel_id int": (b'{"message": "hi", "channel_id": 12}', {422}),
    "thread_id traversal": (b'{"message": "hi", "thread_id": "../../etc/passwd"}', {422}),
    "thread_id too long": (json.dumps({"message": "hi", "thread_id": "t" * 101}).encode(), {422}),
    "thread_id unicode": (
        json.dumps({"message": "hi", "thread_id": "thr\u00e9ad"}).encode(),
        {422},
    ),
    "thread_id nul": (b'{"message": "hi", "thread_id": "a\\u0000b"}', {422}),
    # a client may name a new thread (interfaces.md: `--thread ID`); it is claimed by the caller
    "unknown thread": (b'{"message": "hi", "thread_id": "no-such-thread-123"}', {200}),
    "deeply nested": (b'{"message": "hi", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}", {400, 422}),
}


def _post(srv: SecurityServer, path: str, content: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {srv.key_a}", "Content-Type": "application/json"}
    response = httpx.post(f"{srv.url}{path}", content=content, headers=headers, timeout=120)
    srv.transcript.append(response.text)
    return response


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_bad_bodies_get_a_clear_4xx(security_server: SecurityServer, name: str) -> None:
    body, expected = BAD_BODIES[name]
    for path in ("/api/chat", "/api/chat/stream"):
        response = _post(security_server, path, body)
        COUNTS["http"] = COUNTS.get("http", 0) + 1
        assert response.status_code in expected, (name, path, response.text[:300])
        if response.status_code >= 400:
            error = response.json()["error"]
            assert isinstance(error, str) and 5 < len(error) < 500, error
            assert "Traceback" not in error and "sqlalchemy" not in error.lower()


@pytest.mark.parametrize(
    "name",
    [n for n in UNICODE],
)
def test_unicode_edge_cases_are_answered_and_round_trip(
    security_server: SecurityServer, name: str
) -> None:
    srv = security_server
    message = UNICODE[name]
    response = _post(srv, "/api/chat", json.dumps({"message": message}).encode())
    COUNTS["unicode"] = COUNTS.get("unicode", 0) + 1
    assert response.status_code in (200, 400, 413, 422), (name, response.text[:300])
    if response.status_code != 200:
        assert isinstance(response.json()["error"], str)
        return
    answer = response.json()
    assert answer["answer"].strip()
    history = srv.get(f"/api/threads/{answer['thread_id']}", srv.key_a)
    assert history.status_code == 200, history.text
    assert history.json()["turns"][0]["content"] == message.strip()


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("no messages", {"model": "keen-assistant", "messages": []}, 422),
        ("no user message", {"messages": [{"role": "system", "content": "x"}]}, 400),
        ("content int", {"messages": [{"role": "user", "content": 5}]}, 422),
        ("image part only", {"messages": [{"role": "user", "content": [{"type": "image"}]}]}, 400),
        ("messages not a list", {"messages": "hi"}, 422),
        ("100 kB content", {"messages": [{"role": "user", "content": "c" * 100_000}]}, 413),
    ],
)
def test_openai_format_bad_input(
    security_server: SecurityServer, name: str, body: dict[str, Any], status: int
) -> None:
    response = _post(security_server, "/v1/chat/completions", json.dumps(body).encode())
    COUNTS["openai"] = COUNTS.get("openai", 0) + 1
    assert response.status_code == status, (name, response.text[:300])
    assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe\x00",
        b'{"type": "event_callback"',
        b"[]",
        b'{"event": 5}',
        b"payload=%7Bnot-json",
    ],
)
def test_slack_bad_bodies_never_500(security_server: SecurityServer, body: bytes) -> None:
    response = post_slack(security_server.url, body)
    COUNTS["slack"] = COUNTS.get("slack", 0) + 1
    assert 200 <= response.status_code < 500, (body, response.status_code)


def test_unknown_thread_reads_as_404(security_server: SecurityServer) -> None:
    srv = security_server
    for thread in ("never-used-thread", "x" * 100):
        response = srv.get(f"/api/threads/{thread}", srv.key_a)
        COUNTS["http"] = COUNTS.get("http", 0) + 1
        assert (response.status_code, response.json()) == (404, {"error": "Thread not found."})


def test_no_bad_input_reached_a_500(security_server: SecurityServer) -> None:
    assert security_server.server_errors() == []


# ----------------------------------------------------------------------------- datasets


def fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Row count and SHA-256 of the sorted rows of every table, read with plain SQL."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            count = conn.scalar(select(func.count()).select_from(table)) or 0
            rows = sorted(repr(tuple(str(v) for v in row)) for row in conn.execute(select(table)))
            out[table.name] = (count, hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _save(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def edit(file: str, change: Callable[[list[str], list[dict[str, str]]], None]) -> Any:
    def apply(folder: Path) -> None:
        header, rows = _rows(folder / file)
        change(header, rows)
        _save(folder / file, header, rows)

    return apply


def set_cell(row: int, column: str, value: str) -> Callable[..., None]:
    def change(_header: list[str], rows: list[dict[str, str]]) -> None:
        rows[row][column] = value

    return change


def _drop_column(column: str) -> Callable[..., None]:
    def change(header: list[str], rows: list[dict[str, str]]) -> None:
        header.remove(column)
        for row in rows:
            del row[column]

    return change


def _duplicate_id(_header: list[str], rows: list[dict[str, str]]) -> None:
    rows[2]["id"] = rows[1]["id"]


def _approved_without_date(_header: list[str], rows: list[dict[str, str]]) -> None:
    rows[0].update(status="approved", approved_at="", paid_at="", payment_reference="")


def _truncate(file: str, keep: float, quote: bool) -> Any:
    def apply(folder: Path) -> None:
        data = (folder / file).read_bytes()
        if quote:  # cut inside a quoted field: the quote never closes
            cut = data.index(b',"') + 5
        else:  # cut in the middle of a later record
            cut = int(len(data) * keep)
            cut = data.index(b",", cut) + 1
        (folder / file).write_bytes(data[:cut])

    return apply


def _write_bytes(file: str, data: bytes) -> Any:
    def apply(folder: Path) -> None:
        (folder / file).write_bytes(data)

    return apply


def _remove(file: str) -> Any:
    def apply(folder: Path) -> None:
        (folder / file).unlink()

    return apply


def _many(folder: Path) -> None:
    for apply in (
        edit("leads.csv", set_cell(0, "created_at", "yesterday")),
        edit("channels.csv", set_cell(0, "status", "deleted")),
        edit("rewards.csv", set_cell(1, "amount", "-1")),
    ):
        apply(folder)


# (mutation, fragment every message must contain): one per class of problem in
# shared/spec/dataset-format.md "Validation", plus truncated, undecodable and empty files.
# Line numbers: the header is line 1, so rows[0] is line 2 (the spec's rule).
CORRUPTIONS: dict[str, tuple[Any, list[str]]] = {
    "missing required file": (_remove("partners.csv"), ["partners.csv"]),
    "missing required column": (edit("leads.csv", _drop_column("status")), ["leads.csv", "status"]),
    "empty required cell": (
        edit("channels.csv", set_cell(0, "name", "")),
        ["channels.csv:2: name"],
    ),
    "malformed date": (
        edit("leads.csv", set_cell(0, "created_at", "2026-13-45")),
        ["leads.csv:2: created_at"],
    ),
    "malformed number": (
        edit("leads.csv", set_cell(1, "deal_value", "12,000.5x")),
        ["leads.csv:3: deal_value"],
    ),
    "negative amount": (
        edit("rewards.csv", set_cell(0, "amount", "-5.00")),
        ["rewards.csv:2: amount"],
    ),
    "three decimals": (
        edit("rewards.csv", set_cell(1, "amount", "10.123")),
        ["rewards.csv:3: amount"],
    ),
    "unknown enum": (
        edit("channels.csv", set_cell(1, "status", "deleted")),
        ["channels.csv:3: status"],
    ),
    "duplicate id": (edit("leads.csv", _duplicate_id), ["leads.csv:4: id"]),
    "unknown lead channel": (
        edit("leads.csv", set_cell(0, "channel_id", "ch-nope")),
        ["leads.csv:2: channel_id"],
    ),
    "unknown reward lead": (
        edit("rewards.csv", set_cell(0, "lead_id", "lead-9999")),
        ["rewards.csv:2: lead_id"],
    ),
    "unknown reward trigger": (
        edit("rewards.csv", set_cell(0, "trigger_id", "trg-nope")),
        ["rewards.csv:2: trigger_id"],
    ),
    "unknown reward report": (
        edit("rewards.csv", set_cell(0, "report_id", "rpt-nope")),
        ["rewards.csv:2: report_id"],
    ),
    "status not in pipeline": (
        edit("leads.csv", set_cell(0, "status", "Teleported")),
        ["leads.csv:2: status"],
    ),
    "status_reached without status": (
        edit("reward_triggers.csv", set_cell(0, "status", "")),
        ["reward_triggers.csv:2: status"],
    ),
    "paid without paid_at": (
        edit("rewards.csv", set_cell(0, "paid_at", "")),
        ["rewards.csv:2: paid_at"],
    ),
    "approved without approved_at": (
        edit("rewards.csv", _approved_without_date),
        ["rewards.csv:2: approved_at"],
    ),
    "truncated inside a quoted field": (_truncate("leads.csv", 0, True), ["leads.csv"]),
    "truncated mid-record": (_truncate("leads.csv", 0.6, False), ["leads.csv"]),
    "binary file": (_write_bytes("partners.csv", bytes(range(256)) * 8), ["partners.csv"]),
    "empty file": (_write_bytes("channels.csv", b""), ["channels.csv"]),
    "three problems at once": (_many, ["leads.csv:2", "channels.csv:2", "rewards.csv:3"]),
}


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """Both organizations loaded: the database a failed load must leave alone."""
    load_dataset(engine, DEMO, ORG_A)
    load_dataset(engine, OTHER, ORG_B)
    return engine


def _corrupt(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name.replace(" ", "-")
    shutil.copytree(OTHER, folder)
    CORRUPTIONS[name][0](folder)
    return folder


def test_every_corruption_is_reported_and_nothing_changes(loaded: Engine, tmp_path: Path) -> None:
    before = fingerprint(loaded)
    leads_in_files = sum(len(_rows(d / "leads.csv")[1]) for d in (DEMO, OTHER))
    assert before["leads"][0] == leads_in_files
    failures = []
    for name, (_apply, fragments) in CORRUPTIONS.items():
        folder = _corrupt(tmp_path, name)
        for org in (ORG_B, "brand-new-org"):  # into an existing org and into a new one
            COUNTS["datasets"] = COUNTS.get("datasets", 0) + 1
            try:
                load_dataset(loaded, folder, org)
            except DatasetInvalid as exc:
                message = str(exc)
                missing = [f for f in fragments if f not in message]
                if missing:
                    failures.append(f"{name}: {missing} not in {message[:300]!r}")
                if "nothing was loaded" not in message:
                    failures.append(f"{name}: no 'nothing was loaded' in {message[:200]!r}")
            except Exception as exc:  # anything but DatasetInvalid is not a clear error
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
            else:
                failures.append(f"{name}: loaded without an error")
            if fingerprint(loaded) != before:
                failures.append(f"{name} ({org}): the database changed")
    assert failures == []


@pytest.mark.slow
def test_streamed_load_rolls_back_on_a_late_problem(
    loaded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The large-folder path (reader process, writes as it goes) must roll back too."""
    monkeypatch.setattr("domain.importer.load.PARALLEL_FROM_BYTES", 0)
    before = fingerprint(loaded)
    for name in ("truncated mid-record", "paid without paid_at", "unknown reward report"):
        COUNTS["datasets"] = COUNTS.get("datasets", 0) + 1
        with pytest.raises(DatasetInvalid):
            load_dataset(loaded, _corrupt(tmp_path, name), ORG_B)
        assert fingerprint(loaded) == before, name


def test_input_figures() -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / "input.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.update(COUNTS)
    path.write_text(json.dumps(previous, indent=2))
    print(f"\nbad input: {COUNTS}")
