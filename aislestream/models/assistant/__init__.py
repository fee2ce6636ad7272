"""The shopping assistant as a model: its dialogue vocabulary and output schema (shared with the
engines that serve it), training data from the dimension world, the judge, SFT and RL."""
