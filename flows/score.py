"""Score a pair file with a run's recommended export, or any model: labels without code.

    python -m flows.score runs/cpu-1a2b3c4d5e pairs.csv --out scored.parquet
    python -m flows.score runs/cpu-1a2b3c4d5e pairs.csv --kind bi --text-a question --text-b answer

A run folder stands for the export its summary recommends (the best on the run's dev set: bi or cross, one member
or the mean of several members' scores, an ensemble). The pairs
are scored in chunks, each appended to the output Parquet (text_a, text_b, score), with a progress bar;
the file appears under its name only when complete. No Prefect: this runs on any box.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from artifacts.atomic import atomic_path
from artifacts.manifest import read_manifest
from models.data import DEV, OWN_DEV, DataError
from models.data.pools import check_pair_file, read_pair_table, select_text
from models.encoders.backend import load_for_serving
from models.encoders.bi_encoder import BiEncoder
from models.encoders.sources import model_kind, resolve_model_source
from models.progress import track
from models.reporting.score_rows import ExportKey, export_folders
from models.runtime import Runtime
from pipeline.cli import score_parser
from pipeline.plan import best_export, recommended
from pipeline.preflight import check_model_reachable, check_runtime, input_errors

SCORED_SCHEMA = pa.schema([("text_a", pa.string()), ("text_b", pa.string()), ("score", pa.float32())])


def recommended_export(run: Path, kind: str) -> tuple[list[str], str]:
    """(folders, kind) of a run's export: with `auto`, the one the run recommends (the best on its selection set,
    bi or cross, member or ensemble); else, of that kind, the best on it. An ensemble has one folder per member."""
    manifest = read_manifest(run / "manifest.json")
    scores, best_cycle = manifest.get("scores", {}), manifest.get("best_cycle", {})
    metric = next((m for m in (OWN_DEV, DEV) if any(m in row for row in scores.values())), None)
    if kind == "auto":
        key = manifest.get("recommended") or (best_export(best_cycle, scores, metric) if best_cycle else None)
    else:
        key = recommended(best_cycle, scores, metric).get(kind, (None, None))[0]
    exports = manifest.get("exports", {})
    if key is None or not exports:
        raise DataError(f"run folder {run} has no exported {'model' if kind == 'auto' else kind + '-encoder'} yet; "
                        "it writes them when it finishes")
    return export_folders(exports, key), ExportKey.parse(key).kind


def score_file(sources: list[str], kind: str, pairs: Path, out: Path, text_a: str, text_b: str, batch_size: int,
               chunk: int, max_length: int, device: str, encoding: str = "utf-8", precision: str = "auto",
               backend: str = "torch", int8: bool = False) -> int:
    """Write every pair's score (the mean over `sources`, an ensemble's members) to `out`, atomically; returns the
    number of pairs."""
    table = select_text(read_pair_table(pairs, "pair file", encoding), pairs, text_a, text_b)
    runtime = Runtime.create(device, precision, 0)  # type: ignore[arg-type]
    models = [load_for_serving(kind, source, None, max_length, runtime.device, backend, int8) for source in sources]
    starts = range(0, len(table), chunk)
    with atomic_path(out) as temp, pq.ParquetWriter(temp, SCORED_SCHEMA) as writer:
        for start in track(starts, len(starts), f"scoring {len(table)} pairs"):
            part = table.iloc[start:start + chunk]
            a, b = part["text_a"].tolist(), part["text_b"].tolist()
            scores = np.mean([model.similarity(a, b, batch_size, runtime.dtype) if isinstance(model, BiEncoder)
                              else model.score(a, b, False, batch_size, runtime.dtype) for model in models], axis=0)
            writer.write_table(pa.table({"text_a": a, "text_b": b, "score": scores}, schema=SCORED_SCHEMA))
    return len(table)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> None:
    args = score_parser(prog).parse_args(argv)
    with input_errors():
        check_runtime(args.device, args.precision)
        check_pair_file(args.pairs, "pair file")
        if (Path(args.model) / "manifest.json").is_file():
            sources, kind = recommended_export(Path(args.model), args.kind)
        else:
            check_model_reachable(args.model)
            sources = [resolve_model_source(args.model)]
            kind = model_kind(sources[0]) if args.kind == "auto" else args.kind
        count = score_file(sources, kind, args.pairs, args.out, args.text_a, args.text_b, args.batch_size, args.chunk,
                           args.max_length, args.device, args.encoding, args.precision, args.backend, args.int8)
    print(f"scored {count} pairs with the {kind}-encoder {' + '.join(sources)} -> {args.out}")


if __name__ == "__main__":
    main()
