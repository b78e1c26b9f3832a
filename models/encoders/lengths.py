"""How many pool inputs each training stage will cut at its max length, counted before the run starts.

Truncation is silent in the tokenizer; a user whose support tickets run to 200 tokens should hear that the
bi-encoder reads 32 of them, and which option changes that, before hours of training.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from transformers import AutoConfig, AutoTokenizer

from models.config import PipelineConfig
from models.encoders.batching import usable_max_length


@dataclass(frozen=True)
class Truncation:
    stage: str  # what reads the inputs
    option: str  # the setting that changes the length
    max_length: int
    cut: int  # inputs longer than max_length tokens
    total: int
    unit: str  # "distinct sentences" or "pairs"

    def describe(self) -> str:
        return (f"{self.cut:,} of {self.total:,} {self.unit} are longer than {self.max_length} tokens and will be cut "
                f"for the {self.stage} ({self.option})")


def pool_truncations(model_folder: Path, texts_a: Sequence[str], texts_b: Sequence[str],
                     config: PipelineConfig) -> list[Truncation]:
    """Per training stage of `model_folder`'s member: how many pool sentences (or pairs) exceed its length."""
    tokenizer = AutoTokenizer.from_pretrained(model_folder)
    model_config = AutoConfig.from_pretrained(model_folder)
    distinct = list(dict.fromkeys([*texts_a, *texts_b]))
    tokens = dict(zip(distinct, map(len, tokenizer(distinct, add_special_tokens=False, verbose=False)["input_ids"])))
    single, pair = tokenizer.num_special_tokens_to_add(pair=False), tokenizer.num_special_tokens_to_add(pair=True)
    sentence_lengths = [tokens[text] + single for text in distinct]
    pair_lengths = [tokens[a] + tokens[b] + pair for a, b in zip(texts_a, texts_b)]
    stages = [("bi-encoder", "--bi-max-length", config.bi_max_length, sentence_lengths, "distinct sentences"),
              ("cross-encoder", "--cross-max-length", config.cross_max_length, pair_lengths, "pairs")]
    if config.warmup != "none":
        stages.append((f"{config.warmup} warm-up", "--warmup-max-length", config.warmup_max_length, sentence_lengths,
                       "distinct sentences"))
    found = []
    for stage, option, requested, lengths, unit in stages:
        limit = usable_max_length(requested, model_config)
        found.append(Truncation(stage, option, limit, sum(length > limit for length in lengths), len(lengths), unit))
    return found
