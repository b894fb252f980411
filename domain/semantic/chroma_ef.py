"""Chroma's view of our embedders, registered so a persisted collection reopens in any process.

Chroma stores the embedding function's `name()` and `get_config()` with each collection and,
when the collection is opened, rebuilds it from its registry. Registering here (importing this
module does it) means a reopened Keen collection embeds with MiniLM (or OpenAI), never with
Chroma's default function, which downloads a model and fails offline. Importing this module
imports chromadb (seconds): only `domain.semantic.index` does so, when an index is first used.
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from domain.semantic.embedder import (
    LOCAL_MODEL,
    OPENAI_MODEL,
    Embedder,
    OpenAIEmbedder,
    local_embedder,
)

BACKENDS = {"local": LOCAL_MODEL, "openai": OPENAI_MODEL}


@register_embedding_function
class KeenEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embeds with the backend named in the collection's config (`local` or `openai`).

    Only the backend and model are persisted; OpenAI's URL and key are read from the settings
    when it embeds, so no secret ends up in the vector store.
    """

    def __init__(self, backend: str = "local", model: str | None = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown embedding backend {backend!r}")
        self.backend = backend
        self.model = model or BACKENDS[backend]

    def embedder(self) -> Embedder:
        if self.backend == "local":
            return local_embedder()
        from domain.settings import get_settings

        settings = get_settings()
        return OpenAIEmbedder(settings.openai_api_key, settings.openai_base_url, self.model)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder().embed(list(input)))

    @staticmethod
    def name() -> str:
        return "keen"

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]  # vectors are unit length, so all three rank alike

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> KeenEmbeddingFunction:
        return KeenEmbeddingFunction(config.get("backend", "local"), config.get("model"))

    def get_config(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model}

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Vectors of another model are not comparable: a collection keeps its embedder."""
        for key in ("backend", "model"):
            if key in new_config and new_config[key] != old_config.get(key):
                raise ValueError(f"a Keen collection cannot change its embedding {key}")
