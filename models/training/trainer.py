"""One training loop for every stage: shuffled mini-batches, AdamW, linear warm-up/decay, mixed precision."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Collection, Sequence

import numpy as np
import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from models.progress import ProgressFn, track
from models.runtime import autocast, grad_scaler

_NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm")


@dataclass(frozen=True)
class OptimSettings:
    lr: float
    batch_size: int
    epochs: int
    warmup_ratio: float = 0.0
    weight_decay: float = 0.01
    max_steps: int | None = None
    max_grad_norm: float = 1.0
    micro_batch: int | None = None  # examples per forward/backward; gradients add up to the whole batch's
    head_lr: float | None = None  # the rate of the parameters named in train's `head` (default: lr)


@dataclass(frozen=True)
class TrainStats:
    """What a stage reports: enough to see that it learned something."""

    steps: int
    examples: int
    first_loss: float
    last_loss: float
    seconds: float
    overflow_skips: int = 0  # fp16 steps the grad scaler skipped (inf/nan gradients): the weights did not move

    def to_dict(self) -> dict[str, float]:
        return {"steps": self.steps, "examples": self.examples, "first_loss": self.first_loss,
                "last_loss": self.last_loss, "seconds": round(self.seconds, 2), "overflow_skips": self.overflow_skips}


class TrainingDiverged(RuntimeError):
    """The loss stopped being a finite number: the weights are those of the last finite step."""


# fp16 only: this many steps skipped in a row (the scaler halving its scale each time, from 2**16 down to 1, without
# one good step) means the unscaled gradients or the loss themselves overflow: the stage has diverged.
FP16_SKIPS_IN_A_ROW = 16
_REMEDY = "lower this stage's learning rate (--cross-lr, --bi-lr, --warmup-lr) or use --precision fp32"


LENGTH_WINDOW = 50  # batches whose examples are sorted by length together before the batches are shuffled


def planned_batches(n_items: int, settings: OptimSettings, seed: int,
                    lengths: Sequence[int] | None = None) -> list[np.ndarray]:
    """Every epoch's shuffled index batches, cut at `max_steps`; seeded, so a rerun sees the same order.

    With `lengths`, each window of LENGTH_WINDOW shuffled batches is regrouped so a batch holds examples of
    similar length (less padding to compute), and the epoch's batches are then shuffled again."""
    if n_items < 1:
        raise ValueError("nothing to train on: the stage got no examples")
    rng = np.random.default_rng(seed)
    size = settings.batch_size
    batches: list[np.ndarray] = []
    for _ in range(settings.epochs):
        order = rng.permutation(n_items)
        if lengths is not None:
            window = size * LENGTH_WINDOW
            order = np.concatenate([part[np.argsort([lengths[i] for i in part], kind="stable")]
                                    for part in np.split(order, range(window, n_items, window))])
        epoch = [order[i:i + size] for i in range(0, n_items, size)]
        batches += [epoch[i] for i in rng.permutation(len(epoch))] if lengths is not None else epoch
    return batches[:settings.max_steps] if settings.max_steps else batches


def micro_batches(index: np.ndarray, size: int | None) -> list[np.ndarray]:
    """The batch in consecutive parts of at most `size` examples (the whole batch when `size` is None): the
    activations of one part at a time are held, so memory follows `size`, not the batch size."""
    if not size or size >= len(index):
        return [index]
    return [index[i:i + size] for i in range(0, len(index), size)]


def _parameter_groups(module: nn.Module, settings: OptimSettings, head: Collection[str]) -> list[dict]:
    """AdamW groups by (weight decay or not) x (head rate or the stage's rate); empty groups left out."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, parameter in module.named_parameters():
        decays = not any(k in name for k in _NO_DECAY)
        groups.setdefault((decays, settings.head_lr is not None and name in head), []).append(parameter)
    return [{"params": params, "weight_decay": settings.weight_decay if decays else 0.0,
             "lr": settings.head_lr if in_head else settings.lr}
            for (decays, in_head), params in groups.items()]


def train(module: nn.Module, n_items: int, batch_loss: Callable[[np.ndarray], torch.Tensor],
          settings: OptimSettings, seed: int, device: torch.device, dtype: torch.dtype | None,
          desc: str, progress: ProgressFn | None = None, lengths: Sequence[int] | None = None,
          head: Collection[str] = ()) -> TrainStats:
    """Minimise `batch_loss(indices)` over shuffled batches of `n_items` examples.

    When `settings.micro_batch` splits the batch, each part's loss is weighted by its share: for a mean over
    examples the summed gradient is the whole batch's; a loss over pairs of examples (CoSENT) compares
    examples within a part only.

    A non-finite loss stops training before it reaches the weights (TrainingDiverged): nothing past the last
    good step is learned, and the caller's output is never written. Under fp16 an overflow is expected now and then:
    the grad scaler skips that step and lowers its scale, and only FP16_SKIPS_IN_A_ROW skipped steps in a row (or no
    finite loss at all) are divergence.

    The parameters named in `head` (freshly initialised layers) learn at `settings.head_lr` when it is set."""
    batches = planned_batches(n_items, settings, seed, lengths)
    optimizer = torch.optim.AdamW(_parameter_groups(module, settings, head), lr=settings.lr,
                                  fused=device.type in ("cpu", "cuda"))  # one kernel per step, same update
    scheduler = get_linear_schedule_with_warmup(
        optimizer, math.ceil(len(batches) * settings.warmup_ratio), len(batches))
    scaler = grad_scaler(device, dtype)
    module.train()
    losses: list[float] = []
    skips, in_a_row = 0, 0
    started = time.perf_counter()
    for step, index in enumerate(track(batches, len(batches), desc, progress), start=1):
        optimizer.zero_grad(set_to_none=True)
        value = 0.0
        for part in micro_batches(index, settings.micro_batch):
            with autocast(device, dtype):
                loss = batch_loss(part) * (len(part) / len(index))  # a mean over the batch, summed over its parts
            value += float(loss.detach())
            if not math.isfinite(value) and not scaler.is_enabled():
                raise TrainingDiverged(f"{desc}: the loss became {value} at step {step} of {len(batches)}, so "
                                       f"training stopped there; {_REMEDY}")
            scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(module.parameters(), settings.max_grad_norm)
        scale = scaler.get_scale()
        scaler.step(optimizer)
        scaler.update()
        if math.isfinite(value):
            losses.append(value)
        if scaler.get_scale() < scale:  # fp16: the scaler found inf/nan gradients, skipped the step, lowered its scale
            skips, in_a_row = skips + 1, in_a_row + 1
            if in_a_row == FP16_SKIPS_IN_A_ROW:
                raise TrainingDiverged(f"{desc}: {in_a_row} steps in a row overflowed fp16 (the grad scaler skipped "
                                       f"them) up to step {step} of {len(batches)}, so training stopped there; "
                                       f"{_REMEDY}")
            continue  # the weights did not move: neither does the learning-rate schedule
        in_a_row = 0
        scheduler.step()
    if not losses:
        raise TrainingDiverged(f"{desc}: the loss overflowed fp16 at every one of its {len(batches)} steps; {_REMEDY}")
    module.eval()
    window = max(1, min(10, len(losses) // 4))
    return TrainStats(steps=len(batches), examples=sum(len(b) for b in batches),
                      first_loss=float(np.mean(losses[:window])), last_loss=float(np.mean(losses[-window:])),
                      seconds=time.perf_counter() - started, overflow_skips=skips)

