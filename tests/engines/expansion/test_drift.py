"""The drift filter: terms the catalog says exclude a query word are dropped, others pass."""

import pytest

from aislestream.core.text import WeightedTerm
from aislestream.engines.expansion import build_expander
from aislestream.engines.expansion.base import Expansion
from aislestream.engines.expansion.drift import (
    DriftConfig,
    DriftFilter,
    DriftFilteredExpander,
    catalog_drift_filter,
)
from aislestream.errors import ConfigError
from aislestream.settings import DRIFT_FILTER_FILE, ExpansionSettings


def _titles():
    """Two brands of controller that no title names together, colours that mix with both,
    and one word ("gamepad") too rare to judge."""
    titles = []
    for i in range(40):
        colour = ("black", "white")[i % 2]
        titles.append(f"xbox wireless controller {colour}")
        titles.append(f"ps4 dualshock controller {colour}")
    titles += ["gamepad for pc"] * 2 + [f"usb cable {i}" for i in range(20)]
    return titles


class _Fixed:
    name, variant = "fixed", "v"

    def __init__(self, terms):
        self.terms = terms

    def expand(self, queries):
        return [Expansion(q, tuple(WeightedTerm(t, 0.1) for t in self.terms), "fixed", "v")
                for q in queries]


def test_a_rival_brand_is_dropped_and_words_that_share_titles_pass():
    drift = DriftFilter.from_titles(_titles())
    assert drift.conflict("xbox controller", "ps4") == "xbox"
    assert drift.conflict("xbox controller", "dualshock") == "xbox"
    assert drift.conflict("xbox controller", "black") is None  # black xbox controllers exist
    assert drift.conflict("xbox controller", "wireless") is None
    assert drift.conflict("xbox controller", "gamepad") is None  # rarer than min_df: not judged
    assert drift.conflict("xbxo controller", "xbox") is None  # a misspelling's correction passes
    # too rare together to mean anything: expected co-occurrence below min_expected
    strict = DriftFilter.from_titles(_titles(), DriftConfig(min_df=5, min_expected=100.0))
    assert strict.conflict("xbox controller", "ps4") is None


def test_filtered_expansions_keep_the_other_terms_and_their_weights(tmp_path):
    drift = catalog_drift_filter(tmp_path, _titles())
    assert (tmp_path / DRIFT_FILTER_FILE).exists()
    reloaded = DriftFilter.load(tmp_path / DRIFT_FILTER_FILE)
    assert reloaded.conflict("xbox controller", "ps4") == "xbox"
    assert reloaded.n_titles == drift.n_titles == 102
    other = catalog_drift_filter(tmp_path, ["kettle"] * 10)  # another catalog: rebuilt
    assert DriftFilter.load(tmp_path / DRIFT_FILTER_FILE).n_titles == other.n_titles == 10
    filtered = DriftFilteredExpander(_Fixed(["ps4", "wireless", "black"]), reloaded)
    assert filtered.name == "fixed+drift"  # a shared cache keys it apart from the bare one
    (out,) = filtered.expand(["xbox controller"])
    assert [(t.term, t.weight) for t in out.terms] == [("wireless", 0.1), ("black", 0.1)]
    unchanged = _Fixed(["wireless"]).expand(["xbox controller"])[0]
    assert reloaded.apply(unchanged) is unchanged


def test_the_served_llm_reads_the_filter_beside_its_model_and_says_when_it_is_missing(
        micro_run, tmp_path):
    import shutil

    root = tmp_path / "lm"
    shutil.copytree(micro_run.out_dir / "rl", root / "rl")
    settings = ExpansionSettings(engine="llm", model_path=root / "rl", drift_filter=True,
                                 lru_size=0)
    with pytest.raises(ConfigError, match="drift.npz does not exist"):
        build_expander(settings, store=None)  # type: ignore[arg-type]
    catalog_drift_filter(root, _titles())
    expander = build_expander(settings, store=None)  # type: ignore[arg-type]
    assert isinstance(expander.inner, DriftFilteredExpander)
    assert not isinstance(build_expander(settings.model_copy(update={"drift_filter": False}),
                                         store=None).inner,  # type: ignore[arg-type]
                          DriftFilteredExpander)
