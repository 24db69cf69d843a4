"""A small conv + Linear + Embedding model in torch and its Paddle twin, each with its framework's own init."""
