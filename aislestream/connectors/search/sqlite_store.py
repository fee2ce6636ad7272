"""Embedded search store on SQLite FTS5 (BM25), persisted to one database file.

FTS5 has no per-term boosts, so a request becomes one MATCH per clause (original query,
each expansion term), each scored by bm25() times its weight, summed per product.

Threads: one connection serves every thread (the PRF expander's pool and the event loop), and a
connection's open transaction is visible to every statement on it, so without a lock a search
running beside ``index`` saw products deleted and not yet re-inserted. Every use of the
connection holds ``_lock``: a search waits for a re-index to commit (the SearchStore contract).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from aislestream.connectors.search.base import Hit, SearchRequest, product_attributes
from aislestream.core.products import Product
from aislestream.core.text import tokenize
from aislestream.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, title TEXT, description TEXT,
    price REAL, attrs TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS products_fts USING fts5(
    title, description, content='products', content_rowid='rowid', tokenize='porter unicode61'
);
CREATE TABLE IF NOT EXISTS product_attrs (rowid INTEGER, key TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS product_attrs_kv ON product_attrs (key, value, rowid);
"""
# bm25 is lower-is-better; column weights mirror the other backends' title boost.
# ``rank`` is configured as bm25(2.0, 1.0) at creation; bm25() itself cannot be called
# inside a compound query.
_CLAUSE = "SELECT rowid, ? * -rank AS s FROM products_fts WHERE products_fts MATCH ?"


def _match_expression(text: str) -> str | None:
    tokens = tokenize(text)
    return " OR ".join(f'"{t}"' for t in tokens) if tokens else None


class SqliteFtsStore:
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path / "store.sqlite", check_same_thread=False)
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.execute("INSERT INTO products_fts(products_fts, rank) "
                                 "VALUES ('rank', 'bm25(2.0, 1.0)')")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open SQLite store at {path}: {exc}") from exc

    def index(self, products: Iterable[Product], batch_size: int = 5_000) -> int:
        written = 0
        db = self._db
        with self._lock, db:
            for product in products:
                old = db.execute("SELECT rowid, title, description FROM products WHERE id = ?",
                                 (product.id,)).fetchone()
                if old is not None:  # replace by id: re-indexing is idempotent
                    db.execute("INSERT INTO products_fts(products_fts, rowid, title, description) "
                               "VALUES ('delete', ?, ?, ?)", old)
                    db.execute("DELETE FROM product_attrs WHERE rowid = ?", (old[0],))
                    db.execute("DELETE FROM products WHERE rowid = ?", (old[0],))
                attrs = product_attributes(product)
                cur = db.execute(
                    "INSERT INTO products (id, title, description, price, attrs) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (product.id, product.title, product.description, product.price,
                     json.dumps(attrs)),
                )
                rowid = cur.lastrowid
                db.execute("INSERT INTO products_fts(rowid, title, description) VALUES (?, ?, ?)",
                           (rowid, product.title, product.description))
                db.executemany("INSERT INTO product_attrs VALUES (?, ?, ?)",
                               [(rowid, k, v) for k, v in attrs.items()])
                written += 1
        return written

    def search(self, request: SearchRequest) -> list[Hit]:
        clauses, params = [], []
        for text, weight in ([(request.query, 1.0)]
                             + [(t.term, t.weight) for t in request.expansions]):
            expression = _match_expression(text)
            if expression and weight > 0:
                clauses.append(_CLAUSE)
                params += [weight, expression]
        where, where_params = [], []
        for key, value in request.filters.items():
            where.append("p.rowid IN (SELECT rowid FROM product_attrs WHERE key = ? AND value = ?)")
            where_params += [key, value.lower()]
        for key, values in request.exclude.items():
            for value in values:
                where.append("p.rowid NOT IN "
                             "(SELECT rowid FROM product_attrs WHERE key = ? AND value = ?)")
                where_params += [key, value.lower()]
        if request.price_min is not None:
            where.append("p.price >= ?")
            where_params.append(request.price_min)
        if request.price_max is not None:
            where.append("p.price <= ?")
            where_params.append(request.price_max)
        if clauses:
            sql = (f"WITH scored AS ({' UNION ALL '.join(clauses)}) "
                   "SELECT p.id, SUM(scored.s) AS score, p.title, p.description "
                   "FROM scored JOIN products p ON p.rowid = scored.rowid")
        elif where:
            sql = "SELECT p.id, 0.0 AS score, p.title, p.description FROM products p"
        else:
            return []
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY p.rowid ORDER BY score DESC, p.rowid LIMIT ?"
        try:
            with self._lock:
                rows = self._db.execute(sql, params + where_params + [request.k]).fetchall()
        except sqlite3.OperationalError as exc:
            raise StoreError(f"SQLite FTS5 query failed: {exc}") from exc
        return [Hit(id=r[0], score=float(r[1]), title=r[2], description=r[3]) for r in rows]

    def search_many(self, requests: Sequence[SearchRequest]) -> list[list[Hit]]:
        return [self.search(r) for r in requests]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM products").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
