"""The named starting settings of a run (`--preset`): every field can still be overridden by its flag."""
from __future__ import annotations

import dataclasses
from typing import Any

from models.config import PipelineConfig

# What every CPU preset keeps from the issue-4 ablations (chosen on STS-B dev, benchmarks/RESULTS.md): 3,000 pairs
# drawn from sts_sickr, one cycle, `reinit` (the bi-encoder distils from its start, not from the cross-encoder's
# weights) and a 5x cross-encoder learning rate (its head starts untrained and sees only ~190 steps).
_CPU = dict(pool="sts_sickr", max_pairs=3000, cycles=1, reinit=True, cross_lr=1e-4)

PRESETS: dict[str, PipelineConfig] = {
    # The reference code's hyperparameters on the default pool.
    "paper": PipelineConfig(),
    # all-MiniLM-L6-v2 trained, all-mpnet-base-v2 as a frozen labeller whose cosines join both label averages,
    # no warm-up, 12,000 pairs, one distillation epoch, cross-encoder batches of 8, sentences read to 64 tokens
    # and pairs to 128: the best on STS-B dev of the issue-9 runs aimed at 30 minutes on 2 CPU cores
    # (benchmarks/RESULTS.md: cpu-12k, cpu, cpu-long, cpu-long-b8); its cold run took 36 min
    # (benchmarks/manifests/cpu.json). The cross-encoder gains most from more
    # distinct pairs (6,000 pairs twice scored below 12,000 once), then from more, smaller steps over them.
    # The bi-encoder distils with CoSENT (the teacher's order, not its scale): STS-B dev 87.52 against MSE's 87.26
    # (benchmarks/RESULTS.md: cpu-cosent).
    "cpu": PipelineConfig(**_CPU | {"max_pairs": 12_000}, labellers="mpnet-base", labellers_join="both",
                          warmup="none", bi_epochs=1, bi_max_length=64, bi_loss="cosent", cross_batch_size=8,
                          cross_max_length=128),
    # Mutual distillation proper: MiniLM and MPNet both trained side by side on the averaged labels (72 min on 2
    # cores: benchmarks/manifests/mutual-cpu.json).
    "mutual-cpu": PipelineConfig(**_CPU, models="minilm-l6,mpnet-base", warmup="none", bi_epochs=2),
}


def preset(name: str, **overrides: Any) -> PipelineConfig:
    """A preset with some fields changed; unknown names and fields fail with the valid choices."""
    if name not in PRESETS:
        raise ValueError(f"--preset must be one of {', '.join(PRESETS)}; got {name!r}")
    fields = {f.name for f in dataclasses.fields(PipelineConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; valid: {sorted(fields)}")
    return PRESETS[name].replace(**overrides)
