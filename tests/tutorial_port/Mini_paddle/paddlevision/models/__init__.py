from paddlevision.models.alexnet import MiniAlexNet, mini_alexnet

__all__ = ["MiniAlexNet", "mini_alexnet"]
