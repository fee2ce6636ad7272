"""Block pruning: spectral (FFT) analysis of each transformer block, RDP on the cumulative
change over depth to find redundant blocks, surgery, healing by distillation, and baselines."""
