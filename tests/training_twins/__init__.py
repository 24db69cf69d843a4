"""A tiny conv + BatchNorm + Linear classifier in torch and its Paddle twin, for the training steps' tests."""
