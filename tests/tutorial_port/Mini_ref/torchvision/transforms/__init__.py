from torchvision.transforms.presets import ClassificationPresetEval

__all__ = ["ClassificationPresetEval"]
