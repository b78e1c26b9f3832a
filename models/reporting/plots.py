"""The curve a run's numbers make: 7-task average and STS-B dev per cycle, bi and cross."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from models.reporting.score_rows import ScoreRow  # noqa: E402


def plot_cycles(scores: Mapping[str, Mapping[str, float]], cycles: int, path: Path, title: str) -> Path:
    """Per model series ('bi', 'cross', or 'minilm-l6 bi', 'ensemble cross'...): 7-task average (solid), STS-B dev
    (dotted) and own dev pairs (dashed) over cycles 1..K, where scored; start models as grey reference lines."""
    figure, axis = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    steps = list(range(1, cycles + 1))
    rows = {label: ScoreRow.parse(label) for label in scores}
    series = list(dict.fromkeys(row.export for row in rows.values() if row.cycle))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, export in enumerate(series):
        colour = colours[index % len(colours)]
        for metric, (style, title) in _METRICS.items():
            if metric in scores[ScoreRow(export, 1).label]:
                values = [scores[ScoreRow(export, c).label][metric] for c in steps]
                axis.plot(steps, values, style, color=colour, label=f"{export.label} {title}")
    for label, values in scores.items():
        metric = next(m for m in _METRICS if m in values)
        if rows[label].is_start:
            axis.axhline(values[metric], color="grey", linestyle="--", label=f"{label} {_METRICS[metric][1]}")
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


_METRICS = {"avg": ("-o", "7-task avg"), "dev": (":s", "STS-B dev"), "own dev": ("--^", "own dev")}
