"""The curve a run's numbers make: 7-task average and STS-B dev per cycle, bi and cross."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first


def plot_cycles(scores: Mapping[str, Mapping[str, float]], cycles: int, path: Path, title: str) -> Path:
    """Per model series ('bi', 'cross', or 'minilm-l6 bi', 'ensemble cross'...): 7-task average (solid) and
    STS-B dev (dotted) over cycles 1..K; start models as dashed reference lines."""
    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    steps = list(range(1, cycles + 1))
    series = list(dict.fromkeys(m.group(1) for label in scores if (m := _CYCLE.match(label))))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, name in enumerate(series):
        colour = colours[index % len(colours)]
        for metric, style in (("avg", "-o"), ("dev", ":s")):
            values = [scores[f"cycle {c} {name}"][metric] for c in steps]
            axis.plot(steps, values, style, color=colour, label=f"{name} {'7-task avg' if metric == 'avg' else 'STS-B dev'}")
    for label, values in scores.items():
        if label.startswith("start "):
            axis.axhline(values["avg"], color="grey", linestyle="--", label=f"{label} 7-task avg")
    axis.set_xlabel("cycle")
    axis.set_ylabel("Spearman x100")
    axis.set_xticks(steps)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


_CYCLE = re.compile(r"^cycle \d+ (.+)$")
