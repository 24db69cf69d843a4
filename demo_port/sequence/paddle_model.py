"""The sequence demo's Paddle twin of `demo_port.sequence.torch_model`, with torch's parameter names.

Paddle's `nn.LSTM`/`nn.GRU` name their flat weights as torch does (`weight_ih_l0`, `..._reverse`) and keep
torch's gate order, so a checkpoint converts by name; their state dicts also list each weight a second time
under the cell's name (`lstm.0.cell_fw.weight_ih` is the same tensor as `lstm.weight_ih_l0`). Paddle's
`time_major=False` (the default) is torch's `batch_first=True`. The keyword arguments beyond the model's own
build *faulty twins*; the defaults are the faithful port:

- `time_major`: the LSTM reads [B, T, F] as [T, B, F] (the layout flag ported the wrong way round).
- `swap_directions`: the BiLSTM's backward half put before its forward half, as a port that splits and
  re-joins the two directions by hand can do.
"""

from __future__ import annotations

import math

import paddle
from paddle import nn


class SequenceClassifier(nn.Layer):
    """BiLSTM (2 layers) -> GRU -> final hidden state -> Linear."""

    def __init__(
        self,
        features: int = 8,
        hidden: int = 16,
        num_classes: int = 3,
        time_major: bool = False,
        swap_directions: bool = False,
    ) -> None:
        super().__init__()
        self.hidden = hidden
        self.swap_directions = swap_directions
        self.lstm = nn.LSTM(features, hidden, num_layers=2, direction="bidirect", time_major=time_major)
        self.gru = nn.GRU(2 * hidden, hidden)
        # torch's Linear default, U(+-1/sqrt(fan_in)) for weight and bias; Paddle's (XavierUniform, zero bias)
        # would differ. The LSTM and GRU defaults agree: U(+-1/sqrt(hidden)) in both frameworks.
        bound = 1 / math.sqrt(hidden)
        self.head = nn.Linear(  # stores [in, out]: a torch checkpoint needs the transpose
            hidden,
            num_classes,
            weight_attr=paddle.ParamAttr(
                initializer=nn.initializer.KaimingUniform(negative_slope=math.sqrt(5), nonlinearity="leaky_relu")
            ),
            bias_attr=paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound)),
        )

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        outputs, _ = self.lstm(x)  # [B, T, 2H]: forward direction first, then backward
        if self.swap_directions:
            outputs = paddle.concat([outputs[..., self.hidden :], outputs[..., : self.hidden]], axis=-1)
        _, last = self.gru(outputs)  # [1, B, H]
        return self.head(last[-1])


def sequence_classifier(
    features: int = 8, hidden: int = 16, num_classes: int = 3, time_major: bool = False, swap_directions: bool = False
) -> nn.Layer:
    """Build the Paddle classifier; the defaults are the faithful twin of the reference's `sequence_classifier`."""
    return SequenceClassifier(features, hidden, num_classes, time_major, swap_directions)
