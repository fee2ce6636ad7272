"""The shopping assistant: dialogue turns in, structured product parameters (or a clarifying
question) and matching products out. Streams depend on the ``Assistant`` protocol only."""
