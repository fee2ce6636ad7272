"""The demos and the simulated traffic they (and the benchmarks) send: replay, shoppers, chat."""
