"""Small twin pairs with named, integer inputs and structured outputs, for the named-inputs contract.

`torch_side` and `paddle_side` define the same tiny BERT-style classifier (`forward(input_ids,
attention_mask)`: Embedding + masked mean-pool + Linear), written by hand in each framework, with the
same parameter names so weights convert by name. Switches make the outputs differ in structure (a dict
with `.logits` first against a tuple) or plant a bug (`mask_ignored`).
"""
