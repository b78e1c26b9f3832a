"""What verifying a store costs: every run checks each stored output's sha256 once, before it would use it.

    python -m benchmarks.verify_cost runs/store          # e.g. the `cpu` preset's store

Prints the outputs, their size and the seconds to verify them all (one full read of every stored byte), as a
fully cached rerun of that preset does.
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

from artifacts.store import Store


def stored_outputs(store: Path) -> list[Path]:
    """Every sealed output of a store (its `.sha256` sidecar names it)."""
    return sorted(sidecar.with_name(sidecar.name.removesuffix(".sha256")) for sidecar in store.rglob("*.sha256"))


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a run's store folder (<out>/store)")
    args = parser.parse_args()
    outputs = stored_outputs(args.store)
    started = time.perf_counter()
    verified = sum(Store.verified(path) is not None for path in outputs)
    seconds = time.perf_counter() - started
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    size_mb = sum(size_of(path) for path in outputs) / 1e6
    print(f"{verified} of {len(outputs)} outputs verified, {size_mb:,.0f} MB, in {seconds:.2f} s "
          f"({size_mb / seconds:,.0f} MB/s); store {args.store}; commit {commit}, {platform.node()}, "
          f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M} UTC")


if __name__ == "__main__":
    main()
