"""The text demo: a small Transformer sentence classifier in PyTorch, its Paddle twin, a shared tokenizer and
the two data pipelines. `paddle-port demo DIR --model text` copies it into a workspace (config: paddle_port.toml
here, written at the workspace root).
"""
