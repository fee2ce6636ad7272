"""``aisle bench``: every benchmark, each writing docs/results/<topic>.json and its section of
docs/BENCHMARKS.md (``--write``, the default).

``stream``, ``stores`` and ``hostile`` run on the slim image; ``expansion``, ``ads`` and
``prune`` need the ``ml`` extra. ``ads`` and ``prune`` time the CPU by default; with
``--device cuda`` they run their accelerator benchmark instead (bench/ads_device.py,
bench/prune_device.py), which records the card it ran on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from aislestream.cli.common import console, preset_option, require_ml, settings_from
from aislestream.cli.prune import PRUNE_PRESETS
from aislestream.models.ads.presets import ADS_PRESETS, get_ads_preset
from aislestream.models.lm.presets import PRESETS as LM_PRESETS
from aislestream.models.lm.presets import get_preset
from aislestream.models.pruning.names import MODELS

WRITE = click.option("--write/--no-write", default=True, show_default=True)
DEVICE = click.option("--device", default=None,
                      help="Run the accelerator benchmark on this torch device (cuda, cuda:1, "
                           "...) instead of the CPU one; the options marked 'device' apply.")


@click.group()
def bench() -> None:
    """Benchmarks (results go to docs/BENCHMARKS.md and docs/results/)."""


@bench.command("stream")
@click.option("-n", "--messages", default=20_000, show_default=True)
@click.option("--products", "n_products", type=int, default=50_000, show_default=True)
@click.option("--channels/--no-channels", default=True, show_default=True,
              help="Also the fused and gated expansion channels and hybrid (dense) retrieval, "
                   "each in a worker of its own (hybrid embeds the catalog once: minutes).")
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/stream.json and the table in docs/BENCHMARKS.md.")
@click.pass_context
def bench_stream(ctx: click.Context, messages: int, n_products: int, channels: bool,
                 write: bool) -> None:
    """The store's retrieval-only rate (this pipeline's limit here) vs the worker with the
    identity, PRF and LLM expanders, two workers, and each retrieval channel, in one run."""
    from aislestream.bench.stream import run_stream_bench

    run_stream_bench(settings_from(ctx, world__n_products=n_products), messages, write, console,
                     with_channels=channels)


@bench.command("soak")
@click.option("--minutes", default=10.0, show_default=True, type=float)
@click.option("--rate", default=100, show_default=True, type=int,
              help="Messages a second, mixed: 80% search, 10% feedback, 10% assistant turns.")
@click.option("--products", "n_products", type=int, default=50_000, show_default=True)
@click.option("--sample-s", default=10.0, show_default=True, type=float,
              help="Seconds between samples of RSS, lag and the window's p99.")
@click.option("--state-ttl-s", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="TTL of the served results (feedback join) and assistant sessions during the "
                   "soak; 0 keeps the settings' (1 h and 30 min, which a short soak only sees "
                   "filling).")
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/soak.json, docs/plots/soak.png and its BENCHMARKS.md "
                   "section.")
@click.pass_context
def bench_soak(ctx: click.Context, minutes: float, rate: int, n_products: int, sample_s: float,
               state_ttl_s: float, write: bool) -> None:
    """A worker under a paced mixed load for MINUTES: is its memory flat, its p99 steady, and
    nothing lost?"""
    from aislestream.bench.soak import run_soak

    run_soak(settings_from(ctx, world__n_products=n_products), minutes, rate, write, console,
             sample_s, state_ttl_s=state_ttl_s)


@bench.command("stores")
@click.option("--queries", "n_queries", default=2_000, show_default=True)
@click.option("--products", "n_products", type=int, default=50_000, show_default=True)
@WRITE
@click.pass_context
def bench_stores(ctx: click.Context, n_queries: int, n_products: int, write: bool) -> None:
    """Compare the embedded store candidates: index time, queries/s, recall on labelled
    queries."""
    from aislestream.bench.stores import run_store_bench

    run_store_bench(settings_from(ctx, world__n_products=n_products, world__n_queries=n_queries),
                    write, console)


@bench.command("vectors")
@click.option("--products", "n_products", type=int, default=50_000, show_default=True,
              help="World products to embed (all-MiniLM-L6-v2 on this CPU: minutes at 50k).")
@click.option("--queries", "n_queries", type=int, default=2_000, show_default=True)
@click.option("--random", "n_random", type=int, default=200_000, show_default=True,
              help="Random unit vectors for a larger corpus (0: none).")
@WRITE
@click.pass_context
def bench_vectors(ctx: click.Context, n_products: int, n_queries: int, n_random: int,
                  write: bool) -> None:
    """Compare the dense channel's vector indexes (exact, usearch, faiss, hnswlib): build time,
    queries/s at batch 1 and 64, recall@100 against exact search."""
    from aislestream.bench.vectors import run_vector_bench

    run_vector_bench(settings_from(ctx, world__n_products=n_products, world__n_queries=n_queries),
                     n_random, write, console)


@bench.command("hostile")
@click.option("-n", "--per-topic", "n_per_topic", default=1_000, show_default=True,
              help="Hostile messages per input topic (search, ads, assistant, feedback).")
@click.option("--seed", default=7, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/hostile.json and its section of docs/BENCHMARKS.md.")
@click.pass_context
def bench_hostile(ctx: click.Context, n_per_topic: int, seed: int, write: bool) -> None:
    """A seeded hostile corpus through a real, supervised worker: lost, duplicated, exits, stray
    files."""
    from aislestream.bench.hostile import run_hostile_bench

    run_hostile_bench(settings_from(ctx), n_per_topic, seed, write, console)


@bench.command("expansion")
@preset_option(LM_PRESETS)
@click.option("--stage", default="rl", show_default=True,
              type=click.Choice(["pretrain", "sft", "rl"]))
@click.option("-n", "--queries", "n_queries", default=256, show_default=True)
@WRITE
@click.pass_context
def bench_expansion(ctx: click.Context, preset: str, stage: str, n_queries: int,
                    write: bool) -> None:
    """Expansions/s of torch, ONNX Runtime and vLLM on one checkpoint, at batch 1 and 64."""
    require_ml("bench expansion", "torch", "transformers", "onnxruntime")
    from aislestream.bench.expansion_speed import run_speed_bench

    run_speed_bench(settings_from(ctx), get_preset(preset), stage, n_queries, write, console)


@bench.command("ads")
@preset_option(ADS_PRESETS)
@click.option("-n", "--images", default=64, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/ads_speed.json (with --device: ads_device.json) and its "
                   "section.")
@DEVICE
@click.option("--variant", "variants", multiple=True,
              help="device: a generator preset, optionally with fields overridden "
                   "(tiny:train_steps=16000,patch_size=2); repeatable [default: --preset].")
@click.option("--budget-s", default=120.0, show_default=True,
              help="device: training seconds per variant.")
@click.option("--timing-s", default=8.0, show_default=True,
              help="device: seconds of generation timed per batch size.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              default=Path(tempfile.gettempdir()) / "aisle-ads-device", show_default=True,
              help="device: where the trained variants go.")
@click.pass_context
def bench_ads(ctx: click.Context, preset: str, images: int, write: bool, device: str | None,
              variants: tuple[str, ...], budget_s: float, timing_s: float, out: Path) -> None:
    """Generated creatives per second at batch 1 and 16, from the trained generator.

    With --device: train each variant for --budget-s on that device (nothing needs training
    first), then its oracle usable rate and images/s at batch 1, 16 and 256."""
    require_ml("bench ads", "torch", "diffusers")
    if device is None:
        from aislestream.bench.ads_speed import run_ads_speed

        run_ads_speed(settings_from(ctx), get_ads_preset(preset), images, write, console)
        return
    from aislestream.bench import ads_device, device_name

    variants = variants or (preset,)
    results = ads_device.run(variants, budget_s, device, out, timing_s,
                             on_variant=lambda name, result: console.print(name, result))
    if write:
        command = (f"aisle bench ads --device {device} "
                   + " ".join(f"--variant {v}" for v in variants)
                   + f" --budget-s {budget_s:g} --timing-s {timing_s:g}")
        console.print(f"wrote {ads_device.write(results, device_name(device), command)}")


@bench.command("prune")
@preset_option(PRUNE_PRESETS)
@click.option("--model", "models", multiple=True, type=click.Choice(MODELS), default=MODELS,
              show_default=True)
@click.option("--generator-blocks", default=2, show_default=True)
@click.option("--lm-blocks", default=1, show_default=True)
@click.option("--curve-max", default=2, show_default=True,
              help="Quality vs removed blocks from 1 to this.")
@click.option("--heal-steps-generator", default=200, show_default=True)
@click.option("--heal-steps-lm", default=150, show_default=True)
@click.option("--write/--no-write", default=True, show_default=True,
              help="Write docs/results/pruning.json (with --device: pruning_device.json), "
                   "its section and the plots.")
@DEVICE
@click.option("--steps", default=20, show_default=True,
              help="device: sampling steps per creative.")
@click.option("--max-new-tokens", default=12, show_default=True,
              help="device: tokens generated per expansion.")
@click.option("--rounds", default=5, show_default=True,
              help="device: round-robin rounds (the median is kept).")
@click.pass_context
def bench_prune(ctx: click.Context, preset: str, models: tuple[str, ...], generator_blocks: int,
                lm_blocks: int, curve_max: int, heal_steps_generator: int, heal_steps_lm: int,
                write: bool, device: str | None, steps: int, max_new_tokens: int,
                rounds: int) -> None:
    """Full vs pruned (FFT + RDP and baselines), torch and ONNX Runtime, quality and speed.

    With --device: time the full and FFT+RDP-pruned models this command left in the data dir
    (same --preset and block counts) on that device, both models, round-robin."""
    if device is None:
        require_ml("bench prune", "torch", "transformers", "diffusers", "onnxruntime")
        from aislestream.bench.prune import PruneBenchConfig, run_prune_bench

        config = PruneBenchConfig(preset=preset, generator_blocks=generator_blocks,
                                  lm_blocks=lm_blocks, curve_max=curve_max,
                                  heal_steps_generator=heal_steps_generator,
                                  heal_steps_lm=heal_steps_lm)
        run_prune_bench(settings_from(ctx), config, models, write, console)
        return
    require_ml("bench prune --device", "torch", "transformers", "diffusers")
    from aislestream.bench import prune_device

    checkpoints = prune_device.find_checkpoints(settings_from(ctx), preset, generator_blocks,
                                                lm_blocks)
    result = prune_device.run(checkpoints, device, steps, max_new_tokens, rounds)
    console.print(prune_device.markdown(result), markup=False)
    if write:
        command = (f"aisle bench prune --device {device} --preset {preset} "
                   f"--generator-blocks {generator_blocks} --lm-blocks {lm_blocks} "
                   f"--steps {steps} --max-new-tokens {max_new_tokens} --rounds {rounds}")
        console.print(f"wrote {prune_device.write(result, command)}")
