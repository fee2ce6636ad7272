"""Benchmarks behind ``aisle bench``; each writes docs/results/<topic>.json and a BENCHMARKS.md section."""
