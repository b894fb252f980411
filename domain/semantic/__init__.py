"""Semantic search over notes: offline MiniLM embeddings and a Chroma index.

Names are loaded on first access: the embedder needs NumPy and the index chromadb, both slow
to import, and most of `domain` never searches.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.semantic.embedder import Embedder, LocalEmbedder, get_embedder, local_embedder
    from domain.semantic.index import Hit, SemanticIndex, SyncStats

_EXPORTS = {
    "Embedder": "domain.semantic.embedder",
    "LocalEmbedder": "domain.semantic.embedder",
    "get_embedder": "domain.semantic.embedder",
    "local_embedder": "domain.semantic.embedder",
    "Hit": "domain.semantic.index",
    "SemanticIndex": "domain.semantic.index",
    "SyncStats": "domain.semantic.index",
}

__all__ = [
    "Embedder",
    "Hit",
    "LocalEmbedder",
    "SemanticIndex",
    "SyncStats",
    "get_embedder",
    "local_embedder",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
