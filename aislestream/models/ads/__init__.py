"""Ad creatives, offline: the renderer and its defects, the pixel oracle, the reward models and
the diffusion generator (definitions, data and training; serving is in engines/generation)."""
