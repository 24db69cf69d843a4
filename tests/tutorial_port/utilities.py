"""The porter's own helpers, as the tutorial ports keep them at the top of the port: both data pipelines
(no arguments, a hard-coded data folder, returning (dataset, data_loader)), both accuracy functions
(a list of percentages, one per k) and both prediction programs. Paths are relative to the working
directory, as in the tutorials: the scripts run from the port's root."""

import numpy as np
import paddle
import paddlevision
import torch
import torchvision
from PIL import Image

DATA_DIR = "./lite_data/val/"


def build_torch_data_pipeline():
    dataset = torchvision.datasets.ImageFolder(DATA_DIR, torchvision.transforms.ClassificationPresetEval())
    # Shuffled and with worker processes, as a training-minded porter leaves it: fine for training,
    # not for comparing batches (paddle-port rebuilds it without either and says so).
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=True, num_workers=2)
    return dataset, loader


def build_paddle_data_pipeline():
    dataset = paddlevision.datasets.ImageFolder(DATA_DIR, paddlevision.transforms.ClassificationPresetEval())
    batch_sampler = paddle.io.BatchSampler(sampler=paddle.io.SequenceSampler(dataset), batch_size=4)
    loader = paddle.io.DataLoader(dataset, batch_sampler=batch_sampler, num_workers=0)
    return dataset, loader


def accuracy_torch(output, target, topk=(1,)):
    """Top-k accuracy in percent, one 1-element tensor per k."""
    with torch.no_grad():
        batch_size = target.shape[0]
        _, pred = output.topk(max(topk), 1, True, True)
        correct = pred.t().eq(target.reshape(1, -1).expand(pred.shape[1], -1))
        return [correct[:k].reshape(-1).float().sum(0, keepdim=True) * (100.0 / batch_size) for k in topk]


def accuracy_paddle(output, target, topk=(1,)):
    """Top-k accuracy in percent, one 1-element tensor per k."""
    with paddle.no_grad():
        batch_size = target.shape[0]
        _, pred = paddle.topk(output, k=max(topk), axis=1)
        pred = pred.t()
        correct = pred == target.reshape([1, -1]).astype(pred.dtype).expand_as(pred)
        return [correct[:k].reshape([-1]).astype("float32").sum(0, keepdim=True) * (100.0 / batch_size) for k in topk]


def predict_torch(image_path, pretrained="weights/ref.pth", num_classes=10):
    """The reference prediction program: one image, the trained model, class probabilities [1, C]."""
    model = torchvision.models.mini_alexnet(num_classes=num_classes)
    model.load_state_dict(torch.load(pretrained, map_location="cpu"))
    model.eval()
    with Image.open(image_path) as image:
        chw = torchvision.transforms.ClassificationPresetEval()(image.convert("RGB"))
    batch = chw.unsqueeze(0)
    with torch.no_grad():
        return torch.softmax(model(batch), dim=-1)


def predict_paddle(image_path, pretrained="result/weights/model.pdparams", num_classes=10):
    """The Paddle prediction program: the same image, the converted weights, class probabilities [1, C]."""
    model = paddlevision.models.mini_alexnet(num_classes=num_classes)
    model.set_state_dict(paddle.load(pretrained))
    model.eval()
    with Image.open(image_path) as image:
        chw = paddlevision.transforms.ClassificationPresetEval()(image.convert("RGB"))
    batch = paddle.to_tensor(np.expand_dims(chw, 0))
    with paddle.no_grad():
        return paddle.nn.functional.softmax(model(batch), axis=-1)
