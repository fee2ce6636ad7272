"""`aisle bench ads`: generated creatives per second at batch 1 and 16 (same pipeline, same
steps)."""

from __future__ import annotations

import time

from rich.console import Console

from aislestream.core.adspec import ALL_SPECS
from aislestream.evaluation.results import write_results
from aislestream.models.ads.generator import load_pipeline
from aislestream.models.ads.presets import AdsPreset
from aislestream.settings import Settings


def run_ads_speed(settings: Settings, preset: AdsPreset, n: int, write: bool,
                  console: Console) -> dict:
    pipeline = load_pipeline(settings.artifacts.ads(preset.name) / "generator")
    steps = preset.generator.inference_steps
    specs = [ALL_SPECS[i % len(ALL_SPECS)] for i in range(n)]
    rates = {}
    for batch in (1, 16):
        pipeline.generate(specs[:batch], steps, seed=0)  # warm-up
        started = time.perf_counter()
        for i in range(0, n, batch):
            pipeline.generate(specs[i:i + batch], steps, seed=i)
        rates[f"batch{batch}_images_per_s"] = round(n / (time.perf_counter() - started), 2)
    params = sum(p.numel() for p in pipeline.transformer.parameters())
    console.print(f"{preset.name} generator ({params:,} parameters, {steps} Euler steps, guidance "
                  f"{pipeline.config.guidance_scale}): "
                  f"{rates['batch1_images_per_s']} images/s at batch 1, "
                  f"{rates['batch16_images_per_s']} at batch 16")
    payload = {"preset": preset.name, "parameters": params, "inference_steps": steps, "images": n,
               "guidance_scale": pipeline.config.guidance_scale, **rates}
    if write:
        markdown = "\n".join([
            "## Ad creative generation", "",
            f"`{preset.name}` latent diffusion transformer ({params:,} parameters), {steps} "
            f"Euler steps, guidance {pipeline.config.guidance_scale} (two passes a step unless "
            "1), decoded to 32x32 RGB and cleaned, CPU.", "",
            "| batch | images/s |", "|---|---|",
            f"| 1 | {rates['batch1_images_per_s']} |", f"| 16 | {rates['batch16_images_per_s']} |",
        ])
        write_results("ads_speed", payload, markdown,
                      f"aisle bench ads --preset {preset.name} -n {n}")
    return payload
