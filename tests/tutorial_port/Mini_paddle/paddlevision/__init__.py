"""The Paddle tree's vision package, the twin of Mini_ref's vendored torchvision. Imported as `import
paddlevision`, like the tutorial ports' copy, so `Mini_paddle` has to be an import root."""

from paddlevision import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
