import pytest

from aislestream.engines.variants import Variants
from aislestream.errors import ConfigError


class Checkpoint:
    """A variant's files: broken until repaired."""

    def __init__(self) -> None:
        self.repaired = False
        self.loads = 0

    def load(self, name: str) -> str:
        self.loads += 1
        if not self.repaired:
            raise OSError(f"{name}/config.json is not valid JSON")
        return f"model {name}"


def test_a_variant_that_fails_to_build_is_a_config_error_retried_after_the_interval():
    now = [0.0]
    checkpoint = Checkpoint()
    variants = Variants(checkpoint.load, "expander", retry_s=60.0, clock=lambda: now[0])
    with pytest.raises(ConfigError, match="expander variant 'pruned' failed to build: "
                                          "OSError: pruned/config.json"):
        variants.get("pruned")
    now[0] = 59.0
    with pytest.raises(ConfigError, match="failed to build"):
        variants.get("pruned")
    assert checkpoint.loads == 1  # not reloaded on every batch

    checkpoint.repaired = True
    now[0] = 61.0
    assert variants.get("pruned") == "model pruned"
    assert variants.get("pruned") == "model pruned" and checkpoint.loads == 2  # built once


def test_a_config_error_from_the_builder_keeps_its_own_words():
    def unknown(name: str) -> str:
        raise ConfigError(f"unknown expander variant {name!r}; known: prf")

    with pytest.raises(ConfigError, match="^unknown expander variant 'x'; known: prf$"):
        Variants(unknown, "expander").get("x")
