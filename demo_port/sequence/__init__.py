"""The sequence demo: a BiLSTM + GRU classifier over float feature sequences in PyTorch, its Paddle twin and
the two data pipelines. `paddle-port demo DIR --model sequence` copies it into a workspace (config:
paddle_port.toml here, written at the workspace root).
"""
