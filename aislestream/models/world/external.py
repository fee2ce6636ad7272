"""Load a real catalog and labelled queries instead of the synthetic world.

Catalog: CSV or JSONL with columns ``id, title`` (``description`` optional: many real catalogs
have titles only) and any attribute columns (``category, department, brand, colour`` or
``color, material, size, price, features``; other columns become extra filterable attributes).
Labels: ``query, product_id`` and a grade in ``relevance`` or ``grade``, on the project's 0-3
scale or mapped onto it by a ``RelevanceScale`` (a rater scale such as 1-4, averaged grades
such as 2.33 on 1-3, or named labels), and optionally ``query_type`` and ``user_id``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aislestream.core.products import Product
from aislestream.errors import CatalogError
from aislestream.models.world.queries import LabelledQuery
from aislestream.models.world.world import World

CATALOG_COLUMNS = ("id", "title")
LABEL_COLUMNS = ("query", "product_id")
GRADE_COLUMNS = ("relevance", "grade")  # the first one a row has is its grade
_OWN = {*CATALOG_COLUMNS, "description"}
TOP_GRADE = 3


@dataclass(frozen=True)
class RelevanceScale:
    """How a label file's grades map onto the project's 0-3 (0 irrelevant ... 3 exact).

    ``"0-3"`` (the default) takes integers as they are; another range ``"LO-HI"`` maps linearly
    and rounds half up, so 1-4 becomes 0-3 and an averaged 2.33 on 1-3 becomes 2; a mapping
    ``"irrelevant=0,partial=1,exact=3"`` names each label.
    """

    low: float = 0.0
    high: float = TOP_GRADE
    names: dict[str, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> RelevanceScale:
        text = text.strip()
        if "=" in text:
            names: dict[str, int] = {}
            for part in text.split(","):
                label, _, grade = part.partition("=")
                if not label.strip() or not grade.strip().isdigit() or \
                        int(grade) > TOP_GRADE:
                    raise CatalogError(f"relevance scale {text!r}: {part!r} is not LABEL=0..3")
                names[label.strip()] = int(grade)
            return cls(names=names)
        low, sep, high = text.partition("-")
        try:
            lo, hi = float(low), float(high)
        except ValueError:
            lo = hi = math.nan
        if not sep or not lo < hi:
            raise CatalogError(f"relevance scale {text!r}: expected LO-HI (e.g. 1-4) or "
                               "LABEL=GRADE,... (e.g. bad=0,good=2)")
        return cls(lo, hi)

    def grade(self, raw: object) -> int:
        """The 0-3 grade of one label value; ``ValueError`` names what is wrong with it."""
        if self.names:
            if str(raw).strip() not in self.names:
                raise ValueError(f"{raw!r} is not one of {sorted(self.names)}")
            return self.names[str(raw).strip()]
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number") from None
        if not self.low <= value <= self.high:
            raise ValueError(f"{value:g} is outside {self.low:g}-{self.high:g}")
        if (self.low, self.high) == (0, TOP_GRADE) and value != int(value):
            raise ValueError(f"{value:g} is not an integer grade (give the scale it is on, "
                             "e.g. --relevance-scale 1-3)")
        return math.floor(TOP_GRADE * (value - self.low) / (self.high - self.low) + 0.5)


def fingerprint(*paths: Path | None, extra: str = "") -> str:
    """A short content hash of the files (and ``extra``): what a model trained on them is
    keyed by, so two catalogs never share, or overwrite, one another's artifacts."""
    digest = hashlib.sha256(extra.encode())
    for path in paths:
        if path is None:
            digest.update(b"\0none")
            continue
        with Path(path).open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()[:12]
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
            if k not in _KNOWN and k not in _OWN and v not in (None, "")
        }
        products.append(
            Product(
                id=pid, title=str(row["title"]), description=str(row.get("description") or ""),
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


def load_labels(path: Path, product_ids: set[str], scale: RelevanceScale | None = None,
                id_prefix: str = "q") -> list[LabelledQuery]:
    """Labelled queries, one per distinct query text, grades mapped by ``scale`` (0-3 when
    None); ``id_prefix`` keeps the ids of a second file (a test set) apart from the first's."""
    scale = scale or RelevanceScale()
    grouped: dict[str, dict[str, object]] = {}
    unknown: list[str] = []
    for lineno, row in _rows(path):
        _require(path, lineno, row, LABEL_COLUMNS)
        column = next((c for c in GRADE_COLUMNS if row.get(c) not in (None, "")), None)
        if column is None:
            raise CatalogError(f"{path}:{lineno}: missing required column(s): "
                               f"{' or '.join(GRADE_COLUMNS)}")
        try:
            grade = scale.grade(row[column])
        except ValueError as exc:
            raise CatalogError(f"{path}:{lineno}: {column} {exc}") from None
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
        LabelledQuery(id=f"{id_prefix}{i:07d}", text=text, query_type=str(e["query_type"]),
                      user_id=str(e["user_id"]), relevance=dict(e["relevance"]))  # type: ignore[arg-type]
        for i, (text, e) in enumerate(grouped.items())
    ]


def load_external(catalog_path: Path, labels_path: Path | None = None, seed: int = 7,
                  scale: RelevanceScale | None = None) -> World:
    products = load_catalog(catalog_path)
    queries = load_labels(labels_path, {p.id for p in products}, scale) if labels_path else []
    return World(products, [], queries, seed)
