"""The three sequence classifiers of the teacher study (seed000 §1, "Networks that use it").

Each reads a window (B, T, obs) and predicts the teacher's action at the last step:
Linear(obs -> 256) -> GELU, then two sequence layers, then Linear(256 -> actions) on the last
step (weight N(0, 0.1)).  The sequence layers are

- ``attention_split``: AttentionSplit(256, 256, h=4) -> AttentionSplit(256, 256, h=8), the second
  taking the first's context as its hidden;
- ``lstm``: an encoder LSTM and a decoder LSTM that reads the encoder's outputs, starting from
  its final (h, c);
- ``transformer``: two post-LN TransformerEncoderLayers (4 then 8 heads, feed-forward 256, GELU,
  dropout 0.1), no positional encoding.  ``transformer_fixed=False`` keeps the source's wiring
  bug: layer 2 reads the *input*, so layer 1 is dead (it is not evaluated; its weights never
  receive a gradient, exactly as when it ran).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from attnmem.components import pick
from attnmem.models.attention_split import AttentionSplit, OutputStage


class _Predictor(nn.Module):
    def __init__(self, observations: int, actions: int, hidden: int):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(observations, hidden), nn.GELU())
        self.head = nn.Linear(hidden, actions)
        nn.init.normal_(self.head.weight, std=0.1)

    def sequence(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, windows: Tensor) -> Tensor:
        """(B, T, obs) -> action logits (B, actions) read at the last step."""
        return self.head(self.sequence(self.embed(windows))[:, -1])


class AttentionSplitPredictor(_Predictor):
    def __init__(
        self,
        observations: int,
        actions: int,
        hidden: int = 256,
        heads: tuple[int, int] = (4, 8),
        output_stage: OutputStage = "linear",
    ):
        super().__init__(observations, actions, hidden)
        self.layer1 = AttentionSplit(hidden, hidden, heads[0], output_stage)
        self.layer2 = AttentionSplit(hidden, hidden, heads[1], output_stage)

    def sequence(self, x: Tensor) -> Tensor:
        out, context = self.layer1(x)
        return self.layer2(out, context)[0]


class LSTMPredictor(_Predictor):
    def __init__(self, observations: int, actions: int, hidden: int = 256):
        super().__init__(observations, actions, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)

    def sequence(self, x: Tensor) -> Tensor:
        encoded, state = self.encoder(x)
        return self.decoder(encoded, state)[0]


class TransformerPredictor(_Predictor):
    def __init__(
        self,
        observations: int,
        actions: int,
        hidden: int = 256,
        heads: tuple[int, int] = (4, 8),
        fixed: bool = False,
    ):
        super().__init__(observations, actions, hidden)
        self.fixed = fixed
        self.layer1, self.layer2 = (
            nn.TransformerEncoderLayer(
                hidden,
                n,
                dim_feedforward=hidden,
                dropout=0.1,
                activation="gelu",
                batch_first=True,
                norm_first=False,
            )
            for n in heads
        )

    def sequence(self, x: Tensor) -> Tensor:
        return self.layer2(self.layer1(x) if self.fixed else x)


def build_predictor(
    name: str,
    observations: int,
    actions: int,
    hidden: int = 256,
    output_stage: OutputStage = "linear",
    transformer_fixed: bool = False,
) -> nn.Module:
    """The predictor the config calls ``name`` (a key of :data:`PREDICTORS`)."""
    build = pick(PREDICTORS, name, "predictor")
    return build(observations, actions, hidden, output_stage, transformer_fixed)


#: name -> builder(observations, actions, hidden, output_stage, transformer_fixed); each
#: predictor takes the option that concerns it
PREDICTORS: dict[str, Callable[[int, int, int, OutputStage, bool], nn.Module]] = {
    "attention_split": lambda o, a, h, stage, _: AttentionSplitPredictor(
        o, a, h, output_stage=stage
    ),
    "lstm": lambda o, a, h, _stage, _fixed: LSTMPredictor(o, a, h),
    "transformer": lambda o, a, h, _, fixed: TransformerPredictor(o, a, h, fixed=fixed),
}
