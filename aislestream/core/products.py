"""The product record: what every store indexes, every relevance label points at and every
catalog (synthetic or loaded) produces."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    description: str
    category: str = ""
    department: str = ""
    brand: str = ""
    colour: str = ""
    material: str = ""
    size: str = ""
    price: float = 0.0
    features: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)  # attributes an external catalog adds

    def attributes(self) -> dict[str, str]:
        """Filterable attributes as strings (empty ones left out)."""
        base = {
            "category": self.category,
            "department": self.department,
            "brand": self.brand,
            "colour": self.colour,
            "material": self.material,
            "size": self.size,
        }
        return {k: v for k, v in {**base, **self.extra}.items() if v}
