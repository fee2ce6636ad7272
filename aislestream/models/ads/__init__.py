"""Ad creatives: specs, the renderer and its defects, the pixel oracle, reward models and the
diffusion generator."""
