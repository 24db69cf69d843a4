"""The bundled demo port: a PyTorch ResNet-18 (the reference), its hand-written Paddle twin, and the
two eval data pipelines. `paddle-port demo DIR` copies it into a workspace, so every check has a
known-good port to run against before a porter points the tool at their own.
"""
