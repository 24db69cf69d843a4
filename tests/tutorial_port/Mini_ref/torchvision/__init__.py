"""The reference tree's vendored torchvision, trimmed to what the mini port uses. Imported as `import
torchvision`, like the tutorial ports' copy, so `Mini_ref` has to be an import root."""

from torchvision import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
