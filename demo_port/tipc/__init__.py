"""The demo's TIPC programs ("Linux GPU/CPU basic train-inference"): train, export, infer, predict.

TIPC's runner (test_tipc/test_train_inference_python.sh, see docs/tipc.md) calls these as file paths
from the workspace root, so each script puts the root on sys.path itself. They import Paddle only: the
test is about the port standing on its own, without the PyTorch reference installed.
"""
