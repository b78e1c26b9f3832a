"""The curve a run's numbers make: 7-task average and STS-B dev per cycle, bi and cross."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first


def plot_cycles(scores: Mapping[str, Mapping[str, float]], cycles: int, path: Path, title: str) -> Path:
    """Lines per (kind, metric) over cycles 1..K, the start model as a dashed reference."""
    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    steps = list(range(1, cycles + 1))
    for kind, colour in (("bi", "tab:blue"), ("cross", "tab:orange")):
        for metric, style in (("avg", "-o"), ("dev", ":s")):
            values = [scores[f"cycle {c} {kind}"][metric] for c in steps]
            axis.plot(steps, values, style, color=colour, label=f"{kind} {'7-task avg' if metric == 'avg' else 'STS-B dev'}")
    if "start bi" in scores:
        axis.axhline(scores["start bi"]["avg"], color="grey", linestyle="--", label="start bi 7-task avg")
    axis.set_xlabel("cycle")
    axis.set_ylabel("Spearman x100")
    axis.set_xticks(steps)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
