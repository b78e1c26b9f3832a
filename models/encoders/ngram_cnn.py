"""IS-BERT's n-gram feature extractor: 1-D convolutions over the token embeddings, a module of the saved model.

It sits between the transformer and mean pooling, in our BiEncoder and in sentence-transformers alike. This file
imports nothing of the project, because a saved model carries a copy of it: sentence-transformers loads the
module from the model folder (`trust_remote_code=True`), with weights in safetensors, on any machine.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors.torch import load_file, save_file
from torch import nn

CONFIG_FILE = "ngram_cnn_config.json"
WEIGHTS_FILE = "model.safetensors"
# The type modules.json names: the class in the copy of this file that every saved model carries.
SOURCE_FILE = "ngram_cnn.py"
MODULE_TYPE = "ngram_cnn.NgramCNN"


class NgramCNN(nn.Module):
    """ReLU(conv_k) over token embeddings for each window k, concatenated along features.

    Padding positions are zeroed before the convolutions, exactly as the convolution's own zero padding,
    so a sentence's features do not depend on how long the other sentences of its batch are.
    """

    def __init__(self, in_dimension: int, out_channels: int = 256, windows: Sequence[int] = (1, 3, 5)) -> None:
        super().__init__()
        if any(window % 2 == 0 for window in windows):
            raise ValueError(f"n-gram windows must be odd (centred on a token), got {list(windows)}")
        self.in_dimension, self.out_channels, self.windows = in_dimension, out_channels, tuple(windows)
        self.convs = nn.ModuleList(nn.Conv1d(in_dimension, out_channels, window, padding=window // 2)
                                   for window in self.windows)

    @property
    def dimension(self) -> int:
        return self.out_channels * len(self.windows)

    def local_features(self, token_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, dimension) n-gram features; rows at padding positions are not meaningful (mean pooling
        and the IS-BERT loss read the real tokens only)."""
        mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
        channels_first = (token_embeddings * mask).transpose(1, 2)
        return torch.cat([torch.relu(conv(channels_first)) for conv in self.convs], dim=1).transpose(1, 2)

    def forward(self, features: dict[str, torch.Tensor], **_: Any) -> dict[str, torch.Tensor]:
        """The sentence-transformers module contract: replace `token_embeddings` with the n-gram features."""
        features["token_embeddings"] = self.local_features(features["token_embeddings"], features["attention_mask"])
        return features

    def get_sentence_embedding_dimension(self) -> int:
        return self.dimension

    def config(self) -> dict[str, Any]:
        return {"in_dimension": self.in_dimension, "out_channels": self.out_channels, "windows": list(self.windows)}

    def save(self, path: str | Path, *_: Any, **__: Any) -> None:
        """Config and weights in `path`; the model folder also needs `copy_source` (BiEncoder.save does both)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        (path / CONFIG_FILE).write_text(json.dumps(self.config(), indent=2) + "\n")
        save_file({name: tensor.detach().contiguous().cpu() for name, tensor in self.state_dict().items()},
                  str(path / WEIGHTS_FILE))

    @staticmethod
    def load(path: str | Path) -> "NgramCNN":
        path = Path(path)
        module = NgramCNN(**json.loads((path / CONFIG_FILE).read_text()))
        module.load_state_dict(load_file(str(path / WEIGHTS_FILE)))
        return module


def copy_source(model_folder: Path) -> None:
    """Put this module's code in the model folder, where sentence-transformers looks for `ngram_cnn.NgramCNN`."""
    (model_folder / SOURCE_FILE).write_text(Path(__file__).read_text())
