"""The judge: a parameter set scored against what the shopper needs, by slot and by what it
retrieves. It is the RL reward and the evaluation's scorer, so both measure the same thing.

reward = slot F1 + retrieval_weight * (a top-k product satisfies the needs)
         - question_cost * (asked although the product is known, or did not ask although it is not)
         - invalid_penalty * (the output is not a parameter set)

On behaviour (models/assistant/behaviour.py: a shopper's words and what they bought, no gold):

reward = bought_satisfied * (the output adds to the session's state and the bought product
                            satisfies every predicted parameter)
         + bought_rank * 1 / log2(1 + its rank in the search they drive, up to rank_depth)
         - question_cost * (asked: the session or the words name the product)
         - invalid_penalty * (the output is not a parameter set)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aislestream.connectors.search.base import SearchStore
from aislestream.core.products import Product
from aislestream.errors import AisleError
from aislestream.models.assistant.dialogue import clarifying_question, products_request
from aislestream.models.assistant.schema import parse_params
from aislestream.models.world.dimensions import Params, satisfies, score_slots


@dataclass(frozen=True)
class RewardWeights:
    retrieval: float = 0.5
    question_cost: float = 0.5
    invalid_penalty: float = 1.0
    bought_satisfied: float = 0.5
    bought_rank: float = 0.5
    rank_depth: int = 100


@dataclass(frozen=True)
class Judgement:
    valid: bool
    f1: float
    success: bool  # a retrieved product satisfies the needs (or the assistant rightly asked)
    wrong_question: bool


def product_attrs(product: Product) -> dict[str, object]:
    return {"category": product.category, "colour": product.colour, "material": product.material,
            "price": product.price, "features": product.features}


class Judge:
    def __init__(self, store: SearchStore, products: Mapping[str, Product], k: int = 10,
                 weights: RewardWeights | None = None) -> None:
        self.store, self.k, self.w = store, k, weights or RewardWeights()
        self.products = products

    def satisfied(self, hit_ids: Sequence[str], needs: Params) -> bool:
        return any(satisfies(product_attrs(self.products[pid]), needs)
                   for pid in hit_ids if pid in self.products)

    def judge_many(self, outputs: Sequence[tuple[Params, str | None] | None],
                   needs: Sequence[Params]) -> list[Judgement]:
        """``None`` marks an output that did not parse. Retrieval is one batched store call."""
        searched = [i for i, o in enumerate(outputs)
                    if o is not None and o[1] is None and o[0].category]
        hits = self.store.search_many([products_request(outputs[i][0], self.k) for i in searched])  # type: ignore[index]
        found = {i: self.satisfied([h.id for h in hs], needs[i]) for i, hs in zip(searched, hits)}
        out = []
        for i, (output, need) in enumerate(zip(outputs, needs)):
            if output is None:
                out.append(Judgement(False, 0.0, False, False))
                continue
            params, question = output
            should_ask = clarifying_question(need) is not None
            asked = question is not None
            success = found.get(i, False) or (asked and should_ask)
            out.append(Judgement(True, score_slots(params, need).f1, success, asked != should_ask))
        return out

    def rewards(self, texts: Sequence[str], needs: Sequence[Params]) -> list[float]:
        return [self.reward(j) for j in self.judge_many(_parsed(texts), needs)]

    def behaviour_rewards(self, texts: Sequence[str], bought: Sequence[str],
                          states: Sequence[Params]) -> list[float]:
        """Rewards from what the shopper bought (``bought``: product ids) after asking in a
        session holding ``states``; one store call. Every request says something the product
        answers, so an output that leaves the state as it was earns only its rank: otherwise
        ignoring the words would be the safest way to satisfy the purchase."""
        outputs = _parsed(texts)
        searched = [i for i, o in enumerate(outputs) if o is not None and o[1] is None]
        hits = self.store.search_many([products_request(outputs[i][0], self.w.rank_depth)  # type: ignore[index]
                                       for i in searched])
        ranks = {i: next((r for r, h in enumerate(hs, start=1) if h.id == bought[i]), None)
                 for i, hs in zip(searched, hits)}
        out = []
        for i, output in enumerate(outputs):
            if output is None:
                out.append(-self.w.invalid_penalty)
            elif output[1] is not None:
                out.append(-self.w.question_cost)
            else:
                ok = (output[0] != states[i]
                      and satisfies(product_attrs(self.products[bought[i]]), output[0]))
                rank = ranks[i]
                out.append(self.w.bought_satisfied * ok
                           + (self.w.bought_rank / math.log2(1 + rank) if rank else 0.0))
        return out

    def reward(self, j: Judgement) -> float:
        if not j.valid:
            return -self.w.invalid_penalty
        return j.f1 + self.w.retrieval * j.success - self.w.question_cost * j.wrong_question


def _parsed(texts: Sequence[str]) -> list[tuple[Params, str | None] | None]:
    """Each text as parameters and an optional question, None where it does not parse."""
    outputs: list[tuple[Params, str | None] | None] = []
    for text in texts:
        try:
            outputs.append(parse_params(text))
        except AisleError:
            outputs.append(None)
    return outputs
