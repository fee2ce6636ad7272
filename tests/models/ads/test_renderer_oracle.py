import numpy as np
import pytest

from aislestream.core.adspec import ALL_SPECS, N_CLASSES, SAFE_ROWS, SHAPES, AdSpec
from aislestream.models.ads.oracle import judge
from aislestream.models.ads.renderer import DEFECTS, render, shape_mask


def specs(rng, n):
    return [ALL_SPECS[int(i)] for i in rng.integers(N_CLASSES, size=n)]


def test_spec_round_trips_through_its_class_id_and_rejects_unknown_values():
    assert N_CLASSES == 216
    for spec in ALL_SPECS[::17]:
        assert AdSpec.from_class_id(spec.class_id) == spec
    with pytest.raises(ValueError, match="shape 'vase' is not one of"):
        AdSpec("vase", "red", "light", "left")
    with pytest.raises(ValueError, match="class id 999"):
        AdSpec.from_class_id(999)


def test_shapes_are_distinct_silhouettes():
    masks = {s: shape_mask(s, 17, 11) for s in SHAPES}
    for a in SHAPES:
        for b in SHAPES:
            if a < b:
                assert (masks[a] != masks[b]).sum() >= 8, f"{a} and {b} look alike"


def test_clean_renders_respect_the_spec():
    rng = np.random.default_rng(0)
    for spec in specs(rng, 100):
        r = render(spec, rng)
        assert r.image.shape == (32, 32, 3) and r.image.dtype == np.uint8
        assert not r.mask[:SAFE_ROWS].any(), "the product never covers the safe zone"
        assert r.labels() == {"shape": True, "placement": True, "colour": True}


def test_every_defect_breaks_exactly_its_aspect():
    rng = np.random.default_rng(1)
    for defect, aspect in DEFECTS.items():
        r = render(ALL_SPECS[int(rng.integers(N_CLASSES))], rng, defect)
        assert r.defects == {aspect: defect}
        assert [a for a, ok in r.labels().items() if not ok] == [aspect]


def test_oracle_accepts_clean_renders_and_names_the_broken_aspect():
    rng = np.random.default_rng(2)
    assert all(judge(render(s, rng).image, s).usable for s in specs(rng, 200))
    for defect, aspect in DEFECTS.items():
        flagged = 0
        for s in specs(rng, 40):
            verdict = judge(render(s, rng, defect).image, s)
            flagged += not verdict.aspects()[aspect]
            if not verdict.usable:
                assert verdict.reasons
        assert flagged >= 38, f"oracle missed {defect}"


def test_oracle_on_an_empty_canvas():
    spec = ALL_SPECS[0]
    blank = np.zeros((32, 32, 3), dtype=np.uint8)
    blank[:] = (236, 234, 226) if spec.palette == "light" else (36, 38, 48)
    verdict = judge(blank, spec)
    assert not verdict.usable and verdict.reasons == ("no product found",)
