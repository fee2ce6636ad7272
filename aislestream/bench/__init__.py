"""Benchmarks behind ``aisle bench``; each writes docs/results/<topic>.json and a section of
BENCHMARKS.md."""


def device_name(device: str) -> str:
    """What a device benchmark's table names the device by: the card for CUDA (``cuda`` alone
    says nothing about the numbers), else the torch device string as given."""
    if not device.startswith("cuda"):
        return device
    import torch

    return torch.cuda.get_device_name(torch.device(device))
