"""What can be pruned and how, as plain names: the CLI builds its choices from these without
importing torch (``aisle worker`` and ``aisle --help`` must start on the slim, torch-free image)."""

MODELS = ("generator", "lm")
METHODS = ("fft_rdp", "block_influence", "last_n", "random")
