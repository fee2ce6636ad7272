"""The ad store contract and the SQL both backends share.

A backend provides one thing: ``_cursor()``, a cursor inside one transaction that commits on
success, rolls back on error, and turns the driver's errors into the two this project's
callers act on:

- :class:`~aislestream.errors.StoreError`: the store refused *this* operation (a value the
  database will not take, an image that will not encode). The caller dead-letters the request.
- :class:`~aislestream.errors.StoreUnavailable`: the store is down, busy or out of disk. The
  request is not at fault; the caller waits and retries it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from aislestream.connectors.adstore.files import remove_png, show_id, stage_png
from aislestream.errors import StoreError

log = logging.getLogger(__name__)

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
    """What the ads stream needs. ``save`` returns the row with ``image_path`` filled in and
    raises only StoreError (dead-letter this request) or StoreUnavailable (retry later)."""

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


class SqlAdStore:
    """Shared SQL for both backends; subclasses provide ``_cursor`` and the placeholder."""

    placeholder = "?"
    _COLUMNS = ("request_id", "product_id", "spec", "accepted", "scores", "attempts", "reasons",
                "image_path", "model_version", "created_at")

    def __init__(self, image_dir: Path) -> None:
        self.image_dir = image_dir

    def _cursor(self) -> AbstractContextManager[Any]:
        """A cursor in one transaction, errors typed as the module docstring says."""
        raise NotImplementedError

    def migrate(self) -> list[str]:
        """Apply pending migrations in order; idempotent; returns what was applied now."""
        done = set(self.applied_migrations())
        applied = []
        with self._cursor() as cur:
            for name, statements in migrations():
                if name in done:
                    continue
                for statement in statements:
                    cur.execute(statement)
                mark = self.placeholder
                cur.execute(f"INSERT INTO schema_migrations (name, applied_at) "
                            f"VALUES ({mark}, {mark})", (name, time.time()))
                applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self._cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, "
                        "applied_at DOUBLE PRECISION NOT NULL)")
            cur.execute("SELECT name FROM schema_migrations ORDER BY name")
            return [r[0] for r in cur.fetchall()]

    def save(self, row: CreativeRow, image: np.ndarray | None) -> CreativeRow:
        """Store the row and its image; idempotent by request id (a re-delivered request
        overwrites its own row and file).

        Order, so that no failure leaves a file without a row: 1. the PNG goes to a temporary
        name; 2. the row is inserted and committed; 3. the file is renamed into place. A
        failure in 1 or 2 removes the temporary file. A failure in 3 (rare: the rename of a
        file already written) leaves a row whose file is missing until the request is
        re-delivered; it is raised like any other.

        Raises StoreError (this request refused: dead-letter it) or StoreUnavailable (the
        store is down: retry later).
        """
        staged = None if image is None else stage_png(image, self.image_dir, row.request_id)
        try:
            if staged is not None:
                row = dataclasses.replace(row, image_path=str(staged.final))
            self._upsert(row)
            if staged is not None:
                staged.commit()
        finally:
            if staged is not None:
                staged.discard()
        if image is None:
            self._forget_image(row.request_id)
        return row

    def _upsert(self, row: CreativeRow) -> None:
        try:
            values = (row.request_id, row.product_id, json.dumps(row.spec), row.accepted,
                      json.dumps(row.scores), row.attempts, json.dumps(row.reasons), row.image_path,
                      row.model_version, row.created_at)
        except (TypeError, ValueError) as exc:  # a spec, score or reason JSON cannot hold
            raise StoreError(f"row of request {show_id(row.request_id)} is not JSON: {exc}") \
                from exc
        marks = ", ".join([self.placeholder] * len(values))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self._COLUMNS[1:])
        with self._cursor() as cur:
            cur.execute(f"INSERT INTO creatives ({', '.join(self._COLUMNS)}) VALUES ({marks}) "
                        f"ON CONFLICT (request_id) DO UPDATE SET {updates}", values)

    def _forget_image(self, request_id: str) -> None:
        """A re-delivery saved without an image leaves the old file unreferenced: remove it.
        The row is already committed, so a failure here is logged, not raised."""
        try:
            remove_png(self.image_dir, request_id)
        except OSError as exc:
            log.warning("could not remove the old image of request %s: %s",
                        show_id(request_id), exc)

    def get(self, request_id: str) -> CreativeRow | None:
        with self._cursor() as cur:
            cur.execute(f"SELECT {', '.join(self._COLUMNS)} FROM creatives WHERE request_id = "
                        f"{self.placeholder}", (request_id,))
            r = cur.fetchone()
        if r is None:
            return None
        return CreativeRow(r[0], r[1], json.loads(r[2]), bool(r[3]), json.loads(r[4]), int(r[5]),
                           json.loads(r[6]), r[7], r[8], float(r[9]))

    def close(self) -> None:
        raise NotImplementedError

