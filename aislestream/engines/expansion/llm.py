"""What every LLM backend shares: prompt in, greedy completion out, terms parsed and weighed.

Backends (torch, ONNX Runtime, vLLM) only implement ``generate(prompts) -> completions``; the
prompt format and parsing live in ``models.lm.prompts`` so training and serving agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aislestream.engines.expansion.base import Expansion
from aislestream.models.lm.prompts import PROMPTS, parse_terms, weigh_terms


@dataclass(frozen=True)
class LLMConfig:
    model_path: Path
    max_new_tokens: int = 12
    max_terms: int = 6
    mass: float = 0.5  # the expansion's total weight, half a query word, whatever its length
    batch_size: int = 64
    prompt_style: str = "expand"  # "behaviour" prompts a pre-trained-only model Query2doc-style


class LLMExpander:
    """Base class; subclasses set ``backend``, ``tokenizer`` and implement ``generate_ids``."""

    backend = "abstract"

    def __init__(self, config: LLMConfig, variant: str = "default") -> None:
        self.config = config
        self.variant = variant
        self.name = f"llm-{self.backend}"

    tokenizer: object

    def generate_ids(self, prompts: list[str]) -> list[list[int]]:
        """Greedy new token ids per prompt, up to and including EOS."""
        raise NotImplementedError

    def generate(self, prompts: list[str]) -> list[str]:
        return self.tokenizer.batch_decode(self.generate_ids(prompts), skip_special_tokens=True)  # type: ignore[attr-defined]

    def expand(self, queries: Sequence[str]) -> list[Expansion]:
        completions: list[str] = []
        step = self.config.batch_size
        for start in range(0, len(queries), step):
            completions += self.generate([PROMPTS[self.config.prompt_style](q)
                                          for q in queries[start:start + step]])
        return [
            Expansion(q, weigh_terms(parse_terms(c, q, self.config.max_terms), self.config.mass),
                      self.name, self.variant)
            for q, c in zip(queries, completions)
        ]
