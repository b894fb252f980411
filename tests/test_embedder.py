"""The offline MiniLM embedder against real sentence-transformers vectors, and the OpenAI switch.

`fixtures/minilm_reference.json` was written once by `fixtures/make_minilm_reference.py` with
torch + sentence-transformers outside the project; here the NumPy forward pass must reproduce
every vector (cosine ≥ 0.999). The helpers at the top (network guard, OpenAI stub server) are
shared with test_semantic_index.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from domain.semantic import embedder as emb
from domain.settings import get_settings

FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"
PROJECT = Path(__file__).resolve().parent.parent

# --- shared helpers -------------------------------------------------------------------------

# Source, so a subprocess can install the very same guard (see test_semantic_index.py).
NETWORK_GUARD = '''
import socket


def network_guard(attempts):
    """Replacements for socket functions that refuse (and record) anything beyond loopback."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address):
        host = address[0] if isinstance(address, tuple) else None  # else a unix socket path
        if host is not None and host not in ("localhost", "::1") and not host.startswith("127."):
            attempts.append(repr(address))
            raise OSError(f"network access blocked in tests: {address!r}")

    def connect(self, address):
        check(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None:
            check((host if isinstance(host, str) else host.decode(), 0))
        return real_getaddrinfo(host, *args, **kwargs)

    return {"connect": connect, "connect_ex": connect_ex, "getaddrinfo": getaddrinfo}
'''


def network_guard(attempts: list[str]) -> dict[str, Callable[..., Any]]:
    namespace: dict[str, Any] = {}
    exec(NETWORK_GUARD, namespace)
    return namespace["network_guard"](attempts)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Nothing in these tests may leave the machine (no model download, no telemetry)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    for var in ("KEEN_EMBEDDINGS", "CHROMA_URL"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    attempts: list[str] = []
    guard = network_guard(attempts)
    monkeypatch.setattr(socket.socket, "connect", guard["connect"])
    monkeypatch.setattr(socket.socket, "connect_ex", guard["connect_ex"])
    monkeypatch.setattr(socket, "getaddrinfo", guard["getaddrinfo"])
    yield attempts
    assert attempts == [], f"tried to reach the network: {attempts}"


@contextmanager
def openai_stub(vector_for: Callable[[str], list[float]]) -> Iterator[tuple[str, list[dict]]]:
    """A real OpenAI-style `/v1/embeddings` server on loopback; yields its base URL and the
    requests it received. It answers in reverse order, as the API may, to test the sorting."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "auth": self.headers["Authorization"], **body})
            data = [
                {"object": "embedding", "index": i, "embedding": vector_for(text)}
                for i, text in enumerate(body["input"])
            ]
            payload = json.dumps({"object": "list", "data": data[::-1], "model": body["model"]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", received
    finally:
        server.shutdown()
        server.server_close()


# --- the reference vectors ------------------------------------------------------------------


def _reference() -> tuple[list[str], np.ndarray, list[int]]:
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    items = data["items"]
    vectors = np.array([item["vector"] for item in items], dtype=np.float64)
    return [i["text"] for i in items], vectors, [i["tokens_untruncated"] for i in items]


def test_fixture_covers_short_empty_and_both_truncation_lengths() -> None:
    texts, vectors, tokens = _reference()
    assert vectors.shape == (8, 384)
    assert "" in texts and min(tokens) == 2  # the empty text is just [CLS] [SEP]
    assert any(not t.isascii() for t in texts)
    assert any(128 < n <= 256 for n in tokens)  # cut wrongly by the shipped tokenizer.json
    assert any(n > 256 for n in tokens)  # cut at 256 by sentence-transformers


def test_matches_sentence_transformers_in_one_batch() -> None:
    texts, reference, _ = _reference()
    got = emb.local_embedder().embed(texts)
    cosines = (got * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_matches_sentence_transformers_one_text_at_a_time() -> None:
    texts, reference, _ = _reference()
    model = emb.local_embedder()
    got = np.stack([model.embed([text])[0] for text in texts])
    cosines = (got * reference).sum(axis=1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_the_fixture_would_catch_the_128_and_no_truncation_traps() -> None:
    """Cut at 128 (the shipped tokenizer.json) or not at all, the long texts drift away."""
    texts, reference, tokens = _reference()
    long_rows = [i for i, n in enumerate(tokens) if n > 128]
    for max_length in (128, 512):
        wrong = emb.LocalEmbedder(max_length=max_length).embed([texts[i] for i in long_rows])
        cosines = (wrong * reference[long_rows]).sum(axis=1)
        assert cosines.min() < 0.999, (max_length, cosines)


def test_vectors_are_unit_float32_rows_in_input_order() -> None:
    model = emb.local_embedder()
    texts = ["a much longer sentence about partner leads and rewards", "hi", "pricing", ""]
    forward = model.embed(texts)
    backward = model.embed(texts[::-1])
    assert forward.dtype == np.float32 and forward.shape == (4, emb.DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(forward, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(forward, backward[::-1], atol=1e-5)


def test_batches_smaller_than_the_input_give_the_same_vectors() -> None:
    texts = [f"lead number {i} asked about " + "pricing " * (i % 7) for i in range(10)]
    whole = emb.local_embedder().embed(texts)
    in_threes = emb.LocalEmbedder(batch_size=3).embed(texts)  # 10 texts = 3 + 3 + 3 + 1
    np.testing.assert_allclose(whole, in_threes, atol=1e-5)


def test_no_texts_give_an_empty_matrix() -> None:
    assert emb.local_embedder().embed([]).shape == (0, emb.DIMENSION)


def test_one_local_embedder_per_process_even_when_threads_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(emb, "_local", None)
    built: list[int] = []
    real_init = emb.LocalEmbedder.__init__

    def counting_init(self: emb.LocalEmbedder, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(emb.LocalEmbedder, "__init__", counting_init)
    seen: list[int] = []
    start = threading.Barrier(6)

    def fetch() -> None:
        start.wait()
        seen.append(id(emb.local_embedder()))

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len(set(seen)) == 1


def test_importing_the_package_loads_no_heavy_module() -> None:
    code = (
        "import sys, domain, domain.semantic, domain.semantic.embedder, domain.semantic.index\n"
        "heavy = ('numpy', 'tokenizers', 'safetensors', 'chromadb', 'httpx')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --- choosing the backend -------------------------------------------------------------------


def test_the_default_backend_is_local() -> None:
    assert emb.get_embedder() is emb.local_embedder()


def test_keen_embeddings_openai_selects_the_http_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEN_EMBEDDINGS", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    get_settings.cache_clear()
    chosen = emb.get_embedder()
    assert isinstance(chosen, emb.OpenAIEmbedder)
    assert (chosen.base_url, chosen.api_key, chosen.model) == (
        "http://127.0.0.1:9/v1",
        "sk-test",
        "text-embedding-3-small",
    )


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEEN_EMBEDDINGS", "magic")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="KEEN_EMBEDDINGS"):
        emb.get_embedder()


def test_openai_embeddings_come_from_the_server_in_order_and_normalised() -> None:
    vectors = {"three four": [3.0, 4.0], "zero five": [0.0, 5.0], " ": [1.0, 0.0]}
    with openai_stub(lambda text: vectors[text]) as (base_url, received):
        model = emb.OpenAIEmbedder("sk-test", base_url, batch_size=2)
        got = model.embed(["three four", "zero five", ""])
    # [3, 4] has length 5 → [0.6, 0.8]; [0, 5] → [0, 1]; the blank is sent as " " → [1, 0].
    np.testing.assert_allclose(got, [[0.6, 0.8], [0.0, 1.0], [1.0, 0.0]], atol=1e-6)
    # Three texts in batches of two: two requests.
    assert [r["input"] for r in received] == [["three four", "zero five"], [" "]]
    assert {(r["path"], r["auth"], r["model"]) for r in received} == {
        ("/v1/embeddings", "Bearer sk-test", "text-embedding-3-small")
    }
