"""What an advertiser asks for: product shape and colour, background palette, layout.

The canvas is ``SIZE`` x ``SIZE`` RGB. Rows above ``SAFE_ROWS`` are the text/logo safe zone
the product must never cover; the product must sit inside its layout's region.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

SIZE = 32
SAFE_ROWS = 8  # rows [0, 8) carry the advertiser's text bar
SHAPES = ("bottle", "box", "shoe", "phone", "can", "ball")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (215, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 215),
    "yellow": (230, 200, 30), "purple": (140, 50, 180), "orange": (240, 130, 20),
}
PALETTES: dict[str, tuple[int, int, int]] = {"light": (236, 234, 226), "dark": (36, 38, 48)}
LOGO = (128, 128, 128)  # the text bar in the safe zone
LAYOUTS: dict[str, tuple[int, int, int, int]] = {  # region (row0, col0, row1, col1), exclusive ends
    "left": (11, 2, 30, 14), "center": (11, 10, 30, 22), "right": (11, 18, 30, 30),
}
ASPECTS = ("shape", "placement", "colour")


@dataclass(frozen=True)
class AdSpec:
    shape: str
    colour: str
    palette: str
    layout: str

    def __post_init__(self) -> None:
        for value, allowed, name in ((self.shape, SHAPES, "shape"),
                                     (self.colour, COLOURS, "colour"),
                                     (self.palette, PALETTES, "palette"),
                                     (self.layout, LAYOUTS, "layout")):
            if value not in allowed:
                raise ValueError(f"{name} {value!r} is not one of {', '.join(allowed)}")

    @property
    def class_id(self) -> int:
        return ALL_SPECS.index(self)

    @staticmethod
    def from_class_id(class_id: int) -> "AdSpec":
        if not 0 <= class_id < len(ALL_SPECS):
            raise ValueError(f"class id {class_id} outside 0..{len(ALL_SPECS) - 1}")
        return ALL_SPECS[class_id]

    def one_hot(self) -> list[float]:
        """Conditioning vector for the reward models (shape, colour, palette, layout)."""
        out: list[float] = []
        for value, allowed in ((self.shape, SHAPES), (self.colour, COLOURS),
                               (self.palette, PALETTES), (self.layout, LAYOUTS)):
            out += [1.0 if value == a else 0.0 for a in allowed]
        return out


ALL_SPECS: list[AdSpec] = [AdSpec(*combo) for combo in product(SHAPES, COLOURS, PALETTES, LAYOUTS)]
N_CLASSES = len(ALL_SPECS)  # the generator is conditioned on the whole combination
SPEC_DIM = len(SHAPES) + len(COLOURS) + len(PALETTES) + len(LAYOUTS)
