from paddlevision.transforms.presets import ClassificationPresetEval

__all__ = ["ClassificationPresetEval"]
