"""The shopping assistant's offline side: training data from the dimension world, SFT and RL."""
