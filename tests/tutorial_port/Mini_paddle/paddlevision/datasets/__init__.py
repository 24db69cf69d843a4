from paddlevision.datasets.folder import ImageFolder

__all__ = ["ImageFolder"]
