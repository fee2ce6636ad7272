"""The dense side's files: rows of float32 vectors and one JSON record per row, append-only,
in generations switched atomically.

    <dir>/dense.json             {"generation": g, "dim": d}, replaced atomically (os.replace)
    <dir>/vectors-<g>.f32        raw float32 rows, d per row
    <dir>/records-<g>.jsonl      one JSON line per row, in the same order

``append`` writes the vectors, then the lines: a crash leaves at most a torn tail, which
``load`` cuts back to the rows both files hold whole (by byte size, so half a vector row counts
as torn too) before anything is appended after it. ``rewrite`` (compaction, or the repair of a
torn tail) writes the next generation in full and only then points ``dense.json`` at it, so a
crash at any moment leaves one consistent pair. Rewriting both files on every call (the first
layout: ``vectors.npy`` + ``products.jsonl``) was quadratic in the catalog; such a directory is
migrated on first load.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aislestream.errors import ConfigError

META = "dense.json"


class VectorFiles:
    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self.generation = 0

    def _pair(self, generation: int) -> tuple[Path, Path]:
        return (self.path / f"vectors-{generation}.f32",
                self.path / f"records-{generation}.jsonl")

    def load(self) -> tuple[list[dict], np.ndarray]:
        """Every whole row of the current generation (a torn tail repaired first)."""
        meta = self.path / META
        if not meta.exists():
            return self._migrate()
        info = json.loads(meta.read_text())
        if info.get("dim") != self.dim:
            raise ConfigError(f"the vectors under {self.path} have {info.get('dim')} dimensions "
                              f"and the encoder makes {self.dim}: remove {self.path} to embed "
                              "the catalog again with this encoder")
        self.generation = int(info["generation"])
        _, records_path = self._pair(self.generation)
        raw = records_path.read_bytes() if records_path.exists() else b""
        lines = raw.split(b"\n")[:-1]  # a torn last line has no newline
        vectors, size = self._whole_rows()
        rows = min(len(vectors), len(lines))
        vectors = vectors[:rows]
        records = [json.loads(line) for line in lines[:rows]]
        if size != rows * 4 * self.dim or len(raw) != sum(len(x) + 1 for x in lines[:rows]):
            self.rewrite(records, vectors)  # the next append must not continue a torn tail
        return records, vectors

    def _migrate(self) -> tuple[list[dict], np.ndarray]:
        old_vectors, old_records = self.path / "vectors.npy", self.path / "products.jsonl"
        records: list[dict] = []
        vectors = np.zeros((0, self.dim), np.float32)
        if old_vectors.exists() and old_records.exists():
            loaded = np.load(old_vectors)
            lines = old_records.read_text().splitlines()
            if len(lines) == len(loaded) and loaded.ndim == 2 and loaded.shape[1] == self.dim:
                records, vectors = [json.loads(line) for line in lines], loaded
        if self.path.exists():
            self.rewrite(records, vectors)
            for old in (old_vectors, old_records):
                old.unlink(missing_ok=True)
        return records, vectors

    def append(self, records: Sequence[dict], vectors: np.ndarray) -> None:
        if not (self.path / META).exists():
            self.rewrite([], np.zeros((0, self.dim), np.float32))
        vectors_path, records_path = self._pair(self.generation)
        with vectors_path.open("ab") as f:  # vectors first: a row without its line is cut
            f.write(np.ascontiguousarray(vectors, np.float32).tobytes())
        with records_path.open("a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))

    def rewrite(self, records: Sequence[dict], vectors: np.ndarray) -> None:
        """The next generation holds exactly these rows; the old one is removed after the
        switch."""
        self.path.mkdir(parents=True, exist_ok=True)
        old = self.generation
        new = old + 1
        vectors_path, records_path = self._pair(new)
        with vectors_path.open("wb") as f:
            f.write(np.ascontiguousarray(vectors, np.float32).tobytes())
            f.flush()
            os.fsync(f.fileno())
        with records_path.open("w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
            f.flush()
            os.fsync(f.fileno())
        tmp = self.path / (META + ".tmp")
        tmp.write_text(json.dumps({"generation": new, "dim": self.dim}))
        os.replace(tmp, self.path / META)
        self.generation = new
        for stale in self._pair(old):
            stale.unlink(missing_ok=True)

    def read_vectors(self) -> np.ndarray:
        """The current generation's vectors, whole rows only (for an in-process compaction)."""
        return self._whole_rows()[0]

    def _whole_rows(self) -> tuple[np.ndarray, int]:
        """The current generation's whole vector rows, and the file's size in bytes."""
        vectors_path, _ = self._pair(self.generation)
        size = vectors_path.stat().st_size if vectors_path.exists() else 0
        rows = size // (4 * self.dim)
        vectors = (np.fromfile(vectors_path, np.float32, count=rows * self.dim)
                   .reshape(rows, self.dim) if rows else np.zeros((0, self.dim), np.float32))
        return vectors, size
