import json

from aislestream.engines.assistant.model import ModelAssistant, build_decoder
from aislestream.evaluation.assistant import play, summarise
from aislestream.models.assistant.lexicon import MinedCues
from aislestream.models.assistant.run import stages_to_run
from aislestream.models.assistant.schema import parse_params
from aislestream.models.assistant.train import CHAIN
from aislestream.models.lm.model import load_checkpoint
from aislestream.models.world.dimensions import generate_dialogues


def test_every_stage_writes_a_checkpoint_with_room_for_a_dialogue(micro_assistant):
    _, ctx = micro_assistant
    for stage in CHAIN:
        model, _ = load_checkpoint(ctx.out_dir / stage)
        assert model.config.max_position_embeddings == ctx.preset.max_positions
        record = json.loads((ctx.out_dir / stage / "stage.json").read_text())
        assert record["stage"] == stage and record["seconds"] >= 0
    adapt = json.loads((ctx.out_dir / "adapt" / "stage.json").read_text())
    assert adapt["posts"] == ctx.preset.forum_posts and adapt["base"].endswith("pretrain")
    rl = json.loads((ctx.out_dir / "rl" / "stage.json").read_text())
    assert (len(rl["reward_history"]) == ctx.preset.rl_steps
            and -1.0 <= rl["reward_last_quarter"] <= 2.0)
    mined = json.loads((ctx.out_dir / "lexicon" / "stage.json").read_text())
    assert mined["requests"] == ctx.preset.mined_requests
    assert MinedCues.load(ctx.out_dir / "lexicon").requests == ctx.preset.mined_requests


def test_a_model_stage_brings_its_missing_inputs_and_the_lexicon_none():
    nothing, adapted = (lambda s: False), (lambda s: s == "adapt")
    assert stages_to_run(["rl"], nothing) == ["adapt", "sft", "rl"]
    assert stages_to_run(["rl"], adapted) == ["sft", "rl"]
    assert stages_to_run(["lexicon"], nothing) == ["lexicon"]
    assert stages_to_run(["sft", "lexicon"], adapted) == ["lexicon", "sft"]


def test_constrained_decoding_always_parses_even_for_a_barely_trained_model(micro_assistant):
    _, ctx = micro_assistant
    decoder = build_decoder(ctx.out_dir / "rl", "torch")
    assistant = ModelAssistant(decoder, ctx.store, name="rl")
    dialogues = generate_dialogues(12, "held_out", seed=3)
    outcomes = play(assistant, dialogues, ctx.judge())
    assert (assistant.outputs == sum(len(d.turns) for d in dialogues)
            and assistant.parse_failures == 0)
    for text in decoder.decode(["<attrs> i need sandals <sep>",
                                "<attrs> anything but red | kicks <sep>"]):
        parse_params(text)  # raises on anything outside the schema
    summary = summarise(outcomes)
    converted = [o for o in outcomes if o.success_turn is not None]
    assert summary["dialogues"] == 12 and summary["conversion"] == round(len(converted) / 12, 4)
    assert summary["exact_match"] == round(sum(o.final == o.needs for o in outcomes) / 12, 4)
    assert sum(summary["failures"].values()) == 12 - len(converted)


def test_fine_tuning_keeps_the_embeddings_of_words_outputs_never_use(micro_assistant):
    import torch

    _, ctx = micro_assistant
    adapt, tokenizer = load_checkpoint(ctx.out_dir / "adapt")
    tuned, _ = load_checkpoint(ctx.out_dir / "rl")
    before, after = adapt.get_input_embeddings().weight, tuned.get_input_embeddings().weight
    word = tokenizer(" wallet", add_special_tokens=False)["input_ids"][0]  # only in forum posts
    schema = tokenizer.convert_tokens_to_ids('"category":')
    assert torch.equal(before[word], after[word]) and not torch.equal(before[schema], after[schema])


def test_a_session_of_twenty_turns_carries_its_state_in_a_prompt_that_does_not_grow(
        micro_assistant):
    from aislestream.models.assistant.data import params_json
    from aislestream.models.assistant.dialogue import SessionState

    _, ctx = micro_assistant
    decoder = build_decoder(ctx.out_dir / "rl", "torch")
    prompts = []

    class Recording:
        backend = "torch"

        def decode(self, batch):
            prompts.extend(batch)
            return decoder.decode(batch)

    assistant = ModelAssistant(Recording(), ctx.store, name="rl")
    state = SessionState()
    states = []
    for text in ["I'm looking for sandals", *["my friend recommended this shop"] * 19]:
        state, _ = assistant.respond(state, text)
        states.append(state.params)
    assert len(prompts) == 20 and len(state.turns) <= 8  # turns kept for the remainder only
    for before, prompt in zip(states, prompts[1:]):  # each turn reads the state the last left
        assert prompt.startswith(f"<attrs> {params_json(before)} | ")
    assert max(map(len, prompts)) <= len(prompts[0]) + 200  # bounded by the state, not the turns


def test_a_checkpoint_trained_on_another_prompt_format_is_refused(micro_assistant, tmp_path):
    import shutil

    import pytest

    from aislestream.errors import ConfigError

    _, ctx = micro_assistant
    old = tmp_path / "sft"
    shutil.copytree(ctx.out_dir / "sft", old)
    record = json.loads((old / "stage.json").read_text())
    assert record["prompt_format"] == "state|hint|turn"
    del record["prompt_format"]  # as the stateless model's stages were recorded
    (old / "stage.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="retrain it"):
        build_decoder(old, "torch")
