"""Prompt formats and output parsing shared by training and every serving backend.

One format for all of them is what makes backend parity testable: the same checkpoint and
prompt must give the same greedy terms under transformers, ONNX Runtime and vLLM.
"""

from __future__ import annotations

from aislestream.core.text import WeightedTerm, tokenize
from aislestream.models.world.vocab import STOPWORDS


def _clean(query: str) -> str:
    return " ".join(tokenize(query))


def expand_prompt(query: str) -> str:
    return f"<expand> {_clean(query)} <sep>"


def rewrite_prompt(query: str) -> str:
    return f"<rewrite> {_clean(query)} <sep>"


def attrs_prompt(query: str) -> str:
    return f"<attrs> {_clean(query)} <sep>"


def behaviour_prompt(query: str) -> str:
    """The pre-training corpus's own pattern: a stage-1-only model continues it with a product
    title it associates with the query (Query2doc / HyDE-style expansion)."""
    return f"query {_clean(query)} clicked"


PROMPTS = {"expand": expand_prompt, "behaviour": behaviour_prompt}


def parse_terms(completion: str, query: str, max_terms: int = 8) -> list[str]:
    """New, distinct content words of a completion, in order; query words are not repeated."""
    seen = set(tokenize(query))
    terms: list[str] = []
    for token in tokenize(completion):
        if token in seen or token in STOPWORDS or len(token) < 2:
            continue
        seen.add(token)
        terms.append(token)
        if len(terms) == max_terms:
            break
    return terms


def weigh_terms(terms: list[str], mass: float = 0.5) -> tuple[WeightedTerm, ...]:
    """Uniform weights summing to ``mass`` whatever the query's length, so no term weighs as much
    as one query word (1.0). A mass per query token (as before) let a long query's terms
    outweigh its own words: on a real catalog one expansion term got weight 4.0."""
    if not terms:
        return ()
    weight = round(mass / len(terms), 4)
    return tuple(WeightedTerm(t, weight) for t in terms)


def until_eos(ids: list[int], eos: int) -> list[int]:
    """A generated row cut after its first EOS (backends pad differently after it)."""
    return ids[: ids.index(eos) + 1] if eos in ids else ids
