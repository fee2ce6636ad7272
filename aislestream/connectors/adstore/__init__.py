"""The ad store: creative metadata rows (PostgreSQL in production, SQLite embedded) plus image
files. Schema changes are numbered SQL migrations applied in order and recorded in the
database, so every backend runs the same DDL."""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class CreativeRow:
    request_id: str
    product_id: str
    spec: dict[str, str]
    accepted: bool
    scores: dict[str, float]
    attempts: int
    reasons: list[str] = field(default_factory=list)
    image_path: str | None = None
    model_version: str = "unknown"
    created_at: float = field(default_factory=time.time)


class AdStore(Protocol):
    def save(self, row: CreativeRow, image: np.ndarray | None) -> CreativeRow: ...

    def get(self, request_id: str) -> CreativeRow | None: ...

    def applied_migrations(self) -> list[str]: ...

    def close(self) -> None: ...


def migrations() -> list[tuple[str, list[str]]]:
    """(name, statements) in order; comments are stripped before splitting on semicolons."""
    out = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        sql = re.sub(r"--[^\n]*", "", path.read_text())
        out.append((path.stem, [s.strip() for s in sql.split(";") if s.strip()]))
    return out


def write_png(image: np.ndarray, directory: Path, name: str) -> str:
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    Image.fromarray(image).save(path)
    return str(path)


class _SqlStore:
    """Shared SQL for both backends; subclasses provide the connection and the placeholder."""

    placeholder = "?"
    _COLUMNS = ("request_id", "product_id", "spec", "accepted", "scores", "attempts", "reasons",
                "image_path", "model_version", "created_at")

    def __init__(self, image_dir: Path) -> None:
        self.image_dir = image_dir

    def _transaction(self):
        """Commit on success, roll back on error (sqlite3's connection context does this)."""
        return self._conn

    def migrate(self) -> list[str]:
        """Apply pending migrations in order; idempotent; returns what was applied now."""
        done = set(self.applied_migrations())
        applied = []
        with self._transaction():
            cur = self._conn.cursor()
            for name, statements in migrations():
                if name in done:
                    continue
                for statement in statements:
                    cur.execute(statement)
                cur.execute(f"INSERT INTO schema_migrations (name, applied_at) VALUES ({self.placeholder}, "
                            f"{self.placeholder})", (name, time.time()))
                applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self._transaction():
            cur = self._conn.cursor()
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, "
                        "applied_at DOUBLE PRECISION NOT NULL)")
            cur.execute("SELECT name FROM schema_migrations ORDER BY name")
            return [r[0] for r in cur.fetchall()]

    def save(self, row: CreativeRow, image: np.ndarray | None) -> CreativeRow:
        """Idempotent by request id: a re-delivered request overwrites its own row and file."""
        if image is not None:
            row = CreativeRow(**{**row.__dict__, "image_path": write_png(image, self.image_dir, row.request_id)})
        values = (row.request_id, row.product_id, json.dumps(row.spec), row.accepted, json.dumps(row.scores),
                  row.attempts, json.dumps(row.reasons), row.image_path, row.model_version, row.created_at)
        marks = ", ".join([self.placeholder] * len(values))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self._COLUMNS[1:])
        with self._transaction():
            self._conn.cursor().execute(
                f"INSERT INTO creatives ({', '.join(self._COLUMNS)}) VALUES ({marks}) "
                f"ON CONFLICT (request_id) DO UPDATE SET {updates}", values)
        return row

    def get(self, request_id: str) -> CreativeRow | None:
        cur = self._conn.cursor()
        cur.execute(f"SELECT {', '.join(self._COLUMNS)} FROM creatives WHERE request_id = {self.placeholder}",
                    (request_id,))
        r = cur.fetchone()
        if r is None:
            return None
        return CreativeRow(r[0], r[1], json.loads(r[2]), bool(r[3]), json.loads(r[4]), int(r[5]),
                           json.loads(r[6]), r[7], r[8], float(r[9]))

    def close(self) -> None:
        self._conn.close()


class SqliteAdStore(_SqlStore):
    """The embedded default: one database file and an images folder under a directory."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / "images")
        directory.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(directory / "adstore.sqlite", check_same_thread=False)
        self.migrate()


class PostgresAdStore(_SqlStore):
    placeholder = "%s"

    def __init__(self, dsn: str, image_dir: Path) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ImportError("the PostgreSQL ad store needs psycopg: pip install 'aislestream[postgres]'") from exc
        from aislestream.errors import StoreError

        super().__init__(image_dir)
        try:
            self._conn = psycopg.connect(dsn, connect_timeout=5, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot reach PostgreSQL at {dsn}: {exc}") from exc
        self.migrate()

    def _transaction(self):
        return self._conn.transaction()  # psycopg's `with conn:` would close the connection
