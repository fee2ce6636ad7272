"""aislestream: a streaming engine that augments live e-commerce search and advertising with
models."""

__version__ = "0.1.0"
