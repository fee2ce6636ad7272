"""The query-expansion language model: tokenizer, Llama model, and its three training stages.

    aisle train lm --preset tiny --stage all      # pretrain -> sft -> rl, artifacts under .aisle/lm/tiny
"""
