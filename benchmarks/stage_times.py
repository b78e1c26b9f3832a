"""Two runs' stages side by side (seconds and peak RSS), from their manifests, for before/after comparisons.

    python -m benchmarks.stage_times before/manifest.json after/manifest.json

Stages are matched by (stage, cycle, member, position among equal keys): the two evaluation `scores` of a cycle
(bi, then cross) keep their order. The last row is the command's wall time and the after/before ratio.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from benchmarks.results import stage_seconds

StageKey = tuple[str, str, str, int]


def keyed_entries(manifest: Mapping[str, Any]) -> dict[StageKey, Mapping[str, Any]]:
    """Each stage entry under (stage, cycle, member, n-th of that triple)."""
    seen: Counter[tuple[str, str, str]] = Counter()
    keyed = {}
    for entry in manifest["entries"]:
        triple = (entry["stage"], "-" if entry["cycle"] is None else str(entry["cycle"]), entry["member"] or "-")
        keyed[(*triple, seen[triple])] = entry
        seen[triple] += 1
    return keyed


def _cell(entry: Mapping[str, Any] | None, field: str) -> str:
    if entry is None or entry.get(field) is None:
        return "-"
    return f"{entry[field]:.1f}" if field == "seconds" else str(entry[field])


def comparison_table(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A markdown table: every stage's seconds before and after, and the after run's peak RSS."""
    old, new = keyed_entries(before), keyed_entries(after)
    lines = ["| stage | cycle | member | before s | after s | before peak RSS MB | after peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    for key in [*new, *(k for k in old if k not in new)]:
        stage, cycle, member, _ = key
        lines.append(f"| {stage} | {cycle} | {member} | {_cell(old.get(key), 'seconds')} | "
                     f"{_cell(new.get(key), 'seconds')} | {_cell(old.get(key), 'peak_rss_mb')} | "
                     f"{_cell(new.get(key), 'peak_rss_mb')} |")
    stages = [stage_seconds(m) for m in (before, after)]
    walls = [m["wall_seconds"] for m in (before, after)]
    lines.append(f"| **sum of stages** | | | **{stages[0]:.0f}** | **{stages[1]:.0f}** "
                 f"({stages[1] / stages[0]:.2f}x) | | |")
    lines.append(f"| **wall time** | | | **{walls[0]:.0f}** | **{walls[1]:.0f}** ({walls[1] / walls[0]:.2f}x) | | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path, help="the earlier run's manifest.json")
    parser.add_argument("after", type=Path, help="the later run's manifest.json")
    args = parser.parse_args(argv)
    print(comparison_table(*(json.loads(path.read_text()) for path in (args.before, args.after))))


if __name__ == "__main__":
    main()
