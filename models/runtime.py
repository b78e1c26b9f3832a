"""Where and how tensors run: device choice, mixed precision, seeding."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from typing import Iterator, Literal

import numpy as np
import torch

Precision = Literal["auto", "fp32", "bf16", "fp16"]


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch so that CPU runs repeat exactly (the reference seeds torch only)."""
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def pick_device(name: str = "auto") -> torch.device:
    """`auto` takes the GPU when there is one; anything else is passed to torch as is."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is visible here; use --device cpu or auto")
    return device


def resolve_precision(device: torch.device, precision: Precision = "auto") -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32.

    `auto`: bf16 where the chosen GPU computes it natively, fp16 on older GPUs, fp32 on CPU. The chosen `cuda:N` is
    asked, not the default device (GPUs of a machine may differ), and emulated bf16 (slow) counts as none."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        with torch.cuda.device(device):
            return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    if device.type != "cuda":
        raise ValueError(f"--precision {precision} needs a GPU; on {device} use fp32 or auto")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Mixed precision when a dtype is given, a no-op otherwise."""
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def grad_scaler(device: torch.device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """fp16 needs loss scaling; bf16 and fp32 do not (a disabled scaler passes through)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


@dataclasses.dataclass(frozen=True)
class Runtime:
    """Where a stage runs: device, autocast dtype (None = fp32) and the seed its shuffles use."""

    device: torch.device
    dtype: torch.dtype | None
    seed: int

    @classmethod
    def create(cls, device: str = "auto", precision: Precision = "auto", seed: int = 42) -> "Runtime":
        chosen = pick_device(device)
        return cls(chosen, resolve_precision(chosen, precision), seed)
