"""Block removal leaves a model that computes exactly what the full one computes with those
blocks bypassed, and saves as an ordinary checkpoint."""

import numpy as np
import pytest
import torch
from diffusers import PixArtTransformer2DModel
from transformers import LlamaConfig, LlamaForCausalLM

from aislestream.core.adspec import ALL_SPECS
from aislestream.models.ads.conditioning import spec_tokens
from aislestream.models.ads.generator import build_transformer, velocity
from aislestream.models.ads.presets import GENERATOR_PRESETS
from aislestream.models.pruning.dit import drop_blocks, profile_generator
from aislestream.models.pruning.lm import drop_layers, left_padded, profile_lm
from aislestream.models.pruning.select import METHODS, select
from aislestream.models.pruning.spectral import SpectralProfile


def bypassed(blocks, skip):
    """Forward hooks that make the blocks in ``skip`` return their input."""
    def identity(module, args, kwargs, output):
        hidden = args[0] if args else kwargs["hidden_states"]
        return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
    return [blocks[i].register_forward_hook(identity, with_kwargs=True) for i in skip]


def test_pruned_dit_equals_the_full_one_with_those_blocks_bypassed(tmp_path):
    torch.manual_seed(0)
    full = build_transformer(GENERATOR_PRESETS["micro"], 4, 16).eval()
    x, t = torch.randn(2, 4, 16, 16), torch.tensor([10.0, 500.0])
    tokens = spec_tokens(ALL_SPECS[3:5])
    with torch.no_grad():
        assert not torch.allclose(drop_blocks(full, [1])(x, encoder_hidden_states=tokens,
                                                         timestep=t, added_cond_kwargs={
                                                             "resolution": None,
                                                             "aspect_ratio": None}).sample,
                                  velocity(full, x, t, tokens))  # the block matters
    pruned = drop_blocks(full, [1])
    handles = bypassed(full.transformer_blocks, [1])
    with torch.no_grad():
        expected = velocity(full, x, t, tokens)
        got = velocity(pruned, x, t, tokens)
    for h in handles:
        h.remove()
    assert torch.allclose(got, expected, atol=1e-5)
    pruned.save_pretrained(tmp_path)
    reloaded = PixArtTransformer2DModel.from_pretrained(tmp_path)
    assert reloaded.config.num_layers == 2 and len(full.transformer_blocks) == 3
    with pytest.raises(ValueError, match="cannot drop"):
        drop_blocks(full, [0, 1, 2])


@pytest.fixture
def tiny_llama():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=50, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=64,
                         pad_token_id=0, eos_token_id=1, bos_token_id=2)
    return LlamaForCausalLM(config).eval()


def test_pruned_llm_matches_bypass_and_decodes_with_its_kv_cache(tiny_llama, tmp_path):
    ids = torch.randint(3, 50, (2, 7))
    pruned = drop_layers(tiny_llama, [1, 2])
    handles = bypassed(tiny_llama.model.layers, [1, 2])
    with torch.no_grad():
        expected = tiny_llama(ids).logits
        got = pruned(ids).logits
    for h in handles:
        h.remove()
    assert torch.allclose(got, expected, atol=1e-5)
    assert [layer.self_attn.layer_idx for layer in pruned.model.layers] == [0, 1]
    # the renumbered layers index the KV cache: cached decoding equals re-running the prefix
    cached = pruned.generate(ids, max_new_tokens=5, do_sample=False, use_cache=True)
    uncached = pruned.generate(ids, max_new_tokens=5, do_sample=False, use_cache=False)
    assert torch.equal(cached, uncached)
    pruned.save_pretrained(tmp_path)
    assert LlamaForCausalLM.from_pretrained(tmp_path).config.num_hidden_layers == 2


def test_profiles_have_one_entry_per_block(tiny_llama, micro_ads):
    from aislestream.models.ads.generator import load_pipeline

    _, root = micro_ads
    gen_profile = profile_generator(load_pipeline(root / "generator"), inference_steps=3,
                                    specs_per_step=4)
    assert len(gen_profile.spectral_distance) == 3 and np.isfinite(gen_profile.change).all()

    class Tok:  # left-padding tokenizer stand-in over fixed ids
        def __call__(self, texts, return_tensors, padding):
            return left_padded([[3 + (ord(c) % 40) for c in t] for t in texts], pad_id=0)

    lm_profile = profile_lm(tiny_llama, Tok(), ["red shoes", "kettle", "a very long query here"],
                            batch_size=2)
    assert lm_profile.band_change.shape == (4, 4) and np.isfinite(lm_profile.change).all()


def test_fft_rdp_removes_blocks_on_the_straight_stretch_and_baselines_obey_the_budget():
    # blocks 1-3 change the spectrum at the same steady rate (a straight stretch); 0, 4 and 5 jump
    change = np.array([5.0, 1.0, 1.0, 1.0, 6.0, 0.5])
    profile = SpectralProfile(change, np.zeros((6, 4)), np.array([0.5, 0.1, 0.2, 0.05, 0.6, 0.3]))
    assert select("fft_rdp", profile, 2).drop == (1, 2)
    assert select("block_influence", profile, 2).drop == (1, 3)
    assert select("last_n", profile, 2).drop == (3, 4)
    for method in METHODS:
        assert len(select(method, profile, 3, seed=4).drop) == 3
    with pytest.raises(ValueError, match="1 to 5 of 6"):
        select("block_influence", profile, 6)
    with pytest.raises(ValueError, match="1 to 4 of 6 blocks \\(never the first or the last"):
        select("fft_rdp", profile, 5)


def test_fft_rdp_never_removes_the_first_block_even_on_a_straight_start():
    # blocks 0-2 lie on one straight stretch: RDP frees points 1 and 2, and point 1 is block 0's
    change = np.array([1.0, 1.0, 1.0, 6.0, 0.2, 6.0])
    profile = SpectralProfile(change, np.zeros((6, 4)), np.zeros(6))
    for n in (1, 2, 3, 4):
        drop = select("fft_rdp", profile, n).drop
        assert len(drop) == n and 0 not in drop and 5 not in drop
    with pytest.raises(ValueError, match="unknown pruning method"):
        select("magic", profile, 1)
