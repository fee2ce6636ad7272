"""Load a real catalog and labelled queries instead of the synthetic world.

Catalog: CSV or JSONL with columns ``id, title, description`` and any attribute columns
(``category, department, brand, colour`` or ``color, material, size, price, features``;
other columns become extra filterable attributes). Labels: ``query, product_id,
relevance`` (integer grade 0-3) and optionally ``query_type`` and ``user_id``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

from aislestream.core.products import Product
from aislestream.errors import CatalogError
from aislestream.models.world.queries import LabelledQuery
from aislestream.models.world.world import World

CATALOG_COLUMNS = ("id", "title", "description")
LABEL_COLUMNS = ("query", "product_id", "relevance")
_KNOWN = {"category", "department", "brand", "colour", "material", "size", "price", "features"}


def _rows(path: Path) -> Iterator[tuple[int, dict[str, object]]]:
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            yield from enumerate(csv.DictReader(fh), start=2)
    elif suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CatalogError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from exc
                if not isinstance(row, dict):
                    raise CatalogError(f"{path}:{lineno}: expected a JSON object per line")
                yield lineno, row
    else:
        raise CatalogError(f"{path}: unsupported format {suffix!r} (use .csv or .jsonl)")


def _require(path: Path, lineno: int, row: dict[str, object], columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if row.get(c) in (None, "")]
    if missing:
        raise CatalogError(f"{path}:{lineno}: missing required column(s): {', '.join(missing)}")


def load_catalog(path: Path) -> list[Product]:
    products: list[Product] = []
    seen: set[str] = set()
    for lineno, row in _rows(path):
        _require(path, lineno, row, CATALOG_COLUMNS)
        if "color" in row and "colour" not in row:
            row["colour"] = row.pop("color")
        pid = str(row["id"])
        if pid in seen:
            raise CatalogError(f"{path}:{lineno}: duplicate product id {pid!r}")
        seen.add(pid)
        try:
            price = float(row.get("price") or 0.0)
        except (TypeError, ValueError) as exc:
            raise CatalogError(
                f"{path}:{lineno}: price {row.get('price')!r} is not a number") from exc
        features = row.get("features") or ()
        if isinstance(features, str):
            features = tuple(f.strip() for f in features.split(",") if f.strip())
        extra = {
            k: str(v) for k, v in row.items()
            if k not in _KNOWN and k not in CATALOG_COLUMNS and v not in (None, "")
        }
        products.append(
            Product(
                id=pid, title=str(row["title"]), description=str(row["description"]),
                category=str(row.get("category") or ""),
                department=str(row.get("department") or ""),
                brand=str(row.get("brand") or ""), colour=str(row.get("colour") or ""),
                material=str(row.get("material") or ""), size=str(row.get("size") or ""),
                price=price, features=tuple(str(f) for f in features), extra=extra,
            )
        )
    if not products:
        raise CatalogError(f"{path}: no products")
    return products


def load_labels(path: Path, product_ids: set[str]) -> list[LabelledQuery]:
    grouped: dict[str, dict[str, object]] = {}
    unknown: list[str] = []
    for lineno, row in _rows(path):
        _require(path, lineno, row, LABEL_COLUMNS)
        try:
            grade = int(row["relevance"])  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise CatalogError(f"{path}:{lineno}: relevance {row['relevance']!r} "
                               "is not an integer") from exc
        if not 0 <= grade <= 3:
            raise CatalogError(f"{path}:{lineno}: relevance {grade} is outside 0-3")
        pid = str(row["product_id"])
        if pid not in product_ids:
            unknown.append(pid)
            continue
        entry = grouped.setdefault(str(row["query"]), {
            "query_type": str(row.get("query_type") or "unknown"),
            "user_id": str(row.get("user_id") or ""), "relevance": {},
        })
        if grade > 0:
            entry["relevance"][pid] = grade  # type: ignore[index]
    if unknown:
        raise CatalogError(
            f"{path}: {len(unknown)} label(s) name products not in the catalog, e.g. {unknown[:3]}"
        )
    return [
        LabelledQuery(id=f"q{i:07d}", text=text, query_type=str(e["query_type"]),
                      user_id=str(e["user_id"]), relevance=dict(e["relevance"]))  # type: ignore[arg-type]
        for i, (text, e) in enumerate(grouped.items())
    ]


def load_external(catalog_path: Path, labels_path: Path | None = None, seed: int = 7) -> World:
    products = load_catalog(catalog_path)
    queries = load_labels(labels_path, {p.id for p in products}) if labels_path else []
    return World(products, [], queries, seed)
