"""Evaluation: retrieval metrics now; full-link evaluation builds on these."""
