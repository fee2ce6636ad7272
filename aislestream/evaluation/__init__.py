"""Offline evaluation and reporting: what calls engines on held-out data and writes docs/results."""
