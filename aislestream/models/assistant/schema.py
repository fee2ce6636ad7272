"""The parameter schema the assistant must emit, and decoding constrained to it.

Every value is an enumeration drawn from the world (categories, colours, materials, features,
the price bounds the dimension world can produce), so the set of outputs is finite and the
longest is ``max_output_chars()`` characters: decoding with that many new tokens (a token is
at least one character) and the constraint always ends in a complete, parseable object. On
torch the constraint is xgrammar's logits processor (the grammar engine vLLM's structured
outputs use), compiled from the same JSON schema vLLM is given.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache

from aislestream.errors import AisleError
from aislestream.models.assistant.dialogue import QUESTIONS
from aislestream.models.world.dimensions import Params, price_bounds
from aislestream.models.world.vocab import COLOURS, PRODUCT_TYPES

MAX_EXCLUDED = 3


def price_values() -> list[int]:
    values = set()
    for ptype in PRODUCT_TYPES:
        low, high = price_bounds(ptype)
        values |= {int(low), int(high), int(math.floor(0.8 * low))}
    return sorted(values)


@lru_cache(maxsize=1)
def params_json_schema() -> dict:
    colours = sorted(COLOURS)
    materials = sorted({m for t in PRODUCT_TYPES for m in t.materials})
    features = sorted({f for t in PRODUCT_TYPES for f in t.features})
    prices = price_values()
    return {
        "type": "object",
        "properties": {
            "category": {"enum": [t.name for t in PRODUCT_TYPES]},
            "colour": {"enum": colours},
            "material": {"enum": materials},
            "feature": {"enum": features},
            "price_max": {"enum": prices},
            "price_min": {"enum": prices},
            "exclude_colours": {"type": "array", "items": {"enum": colours},
                                "maxItems": MAX_EXCLUDED},
            "exclude_materials": {"type": "array", "items": {"enum": materials},
                                  "maxItems": MAX_EXCLUDED},
            # the dimension to ask about; the engine words the question
            "ask": {"enum": sorted(QUESTIONS)},
        },
        "additionalProperties": False,
    }


def max_output_chars() -> int:
    """Length of the longest compact JSON instance of the schema (keys in schema order)."""
    def longest(spec: dict) -> str:
        if "enum" in spec:
            return max((json.dumps(v) for v in spec["enum"]), key=len)
        return "[" + ",".join([longest(spec["items"])] * spec["maxItems"]) + "]"

    fields = [f"{json.dumps(k)}:{longest(v)}"
              for k, v in params_json_schema()["properties"].items()]
    return len("{" + ",".join(fields) + "}")


def schema_tokens() -> list[str]:
    """The schema's keys and string values as whole tokens (``"category":``, ``"sandals"``).

    The LLM's tokenizer learned product prose, where every word follows a space, so JSON keys
    and quoted values would otherwise be spelled out byte by byte: these make a parameter set
    a dozen tokens instead of a hundred, for training and decoding alike."""
    tokens = [f"{json.dumps(key)}:" for key in params_json_schema()["properties"]]
    for spec in params_json_schema()["properties"].values():
        values = spec.get("enum") or spec.get("items", {}).get("enum", [])
        tokens += [json.dumps(v) for v in values if isinstance(v, str)]
    return list(dict.fromkeys(tokens))


def parse_params(text: str) -> tuple[Params, str | None]:
    """The decoded JSON, checked against the schema, as parameters and an optional question."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AisleError(f"assistant output is not JSON ({exc.msg}): {text!r}") from exc
    if not isinstance(data, dict):
        raise AisleError(f"assistant output is not a JSON object: {text!r}")
    properties = params_json_schema()["properties"]
    for key, value in data.items():
        spec = properties.get(key)
        if spec is None:
            raise AisleError(f"assistant output has an unknown key {key!r}: {text!r}")
        if "enum" in spec and value not in spec["enum"]:
            raise AisleError(f"assistant output {key}={value!r} is not an allowed value")
        if "items" in spec and (not isinstance(value, list) or len(value) > spec["maxItems"]
                                or any(v not in spec["items"]["enum"] for v in value)):
            raise AisleError(f"assistant output {key}={value!r} is not a list of allowed values")
    ask = data.pop("ask", None)
    return Params.from_json(data), QUESTIONS[ask] if ask is not None else None


def compiled_schema(tokenizer, vocab_size: int):
    """The schema compiled for one tokenizer by xgrammar (the grammar engine behind vLLM's
    structured outputs); compile once per model, then one matcher per generate call."""
    import xgrammar as xgr

    info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
    return xgr.GrammarCompiler(info).compile_json_schema(
        json.dumps(params_json_schema()), any_whitespace=False, separators=(",", ":"))

