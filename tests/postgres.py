"""The machine's PostgreSQL for tests: each test gets a fresh schema, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG = "postgresql://postgres@127.0.0.1:5432/test"


def schema_dsn(schema: str, port: int = 5432) -> str:
    """A DSN whose connections see only ``schema`` (``port``: a proxy in front of the server)."""
    return f"postgresql://postgres@127.0.0.1:{port}/test?options=-csearch_path%3D{schema}"


@contextmanager
def fresh_schema(prefix: str = "t") -> Iterator[str]:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")
