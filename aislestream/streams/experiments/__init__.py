"""A/B experiments as streaming configuration: the schema, deterministic assignment, and the
config table workers read live."""
