"""The query-expansion language model: tokenizer, Llama model, and its three training stages.

    # pretrain -> sft -> rl, artifacts under .aisle/lm/tiny
    aisle train lm --preset tiny --stage all
"""
