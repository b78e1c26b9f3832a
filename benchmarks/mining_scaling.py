"""Mining a pair pool from a corpus against encoding it once: time and peak memory at 10k, 100k and 1M texts.

    python -m benchmarks.mining_scaling                  # ~30 min on 2 cores -> benchmarks/mining_scaling.json + .md
    python -m benchmarks.mining_scaling --sizes 2000 --large 0 --json /tmp/m.json --out /tmp/m.md   # a smoke run

Texts are synthetic: 10-15 words drawn with a seeded RNG from a fixed 120-word list, plus the text's number (so
every text is distinct). They are encoded with the real start model (all-MiniLM-L6-v2) in one process: the first
10k timed alone (the 10k figure), then the other 90k (10k + 90k is the 100k figure). Mining (neighbours, then
`mine_pairs`) runs on those embeddings, exact and HNSW each in a fresh process, so its peak resident set (the
whole process: Python, numpy, faiss, embeddings) is its own; HNSW's recall@k is measured on a seeded sample.

At 1M texts encoding would take hours on 2 cores, so the 1M embeddings are the 100k real ones, each repeated 10
times with seeded Gaussian noise (sd `--noise` per dimension) added and renormalised, the copies' texts suffixed
"(copy c)". HNSW is measured there; exact search is timed on a few query chunks and extrapolated to all rows
(marked as such). The budget is the target for the pipeline: mining within encoding's time plus 50%.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.fresh_process import in_fresh_process
from benchmarks.provenance import provenance

REPO = Path(__file__).resolve().parent.parent
SIZES = (10_000, 100_000)
LARGE = 1_000_000
BUDGET = 1.5  # mining may take encoding's time plus 50%
EXTRAPOLATE_CHUNK = 128  # query rows per exact chunk at the large size: 128 x 1M scores, ~2 GB with top_k's copies
WORDS = """time person year way day thing man world life hand part child eye woman place work week case point
government company number group problem fact printer screen cable battery phone laptop network server account
password email message order price bill refund delivery store update error setting window button page file folder
music movie game team player city road car train flight hotel room food water coffee doctor school student
teacher book question answer idea reason change result offline slow broken new old big small quick late early
cannot will should might never always often again still really connect reset open close send receive pay buy
find lose keep start stop help need want know""".split()


def synthetic_texts(count: int, seed: int = 0) -> list[str]:
    """`count` distinct texts of 10-15 words from WORDS, the same for the same seed."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 16, size=count)
    return [" ".join(rng.choice(WORDS, length)) + f" {i}" for i, length in enumerate(lengths)]


def encode_report(texts: list[str], first: int, target: str) -> dict[str, Any]:
    """In the child: encode texts[:first] (timed), then the rest (timed); the embeddings saved to `target`."""
    from models.encoders.bi_encoder import BiEncoder
    from models.encoders.sources import resolve_model_source
    from models.memory import peak_rss

    model = BiEncoder.from_pretrained(resolve_model_source("minilm-l6"), max_length=64)
    seconds = []
    with peak_rss() as peak:
        parts = []
        for part in (texts[:first], texts[first:]):
            start = time.perf_counter()
            parts.append(model.encode(part, batch_size=128))
            seconds.append(time.perf_counter() - start)
    np.save(target, np.concatenate(parts))
    return {"first_seconds": seconds[0], "rest_seconds": seconds[1], "peak_rss_mb": peak.mb}


def corpus(embeddings_path: str, size: int, copies: int, noise: float) -> tuple[list[str], np.ndarray]:
    """The first `size` texts and embeddings; beyond the encoded rows, noisy copies of them (see the docstring)."""
    base = np.load(embeddings_path, mmap_mode="r")
    texts = synthetic_texts(len(base))
    if size <= len(base):
        return texts[:size], np.ascontiguousarray(base[:size])
    rng = np.random.default_rng(1)
    embeddings = np.empty((len(base) * copies, base.shape[1]), dtype=np.float32)
    for copy in range(copies):
        part = embeddings[copy * len(base):(copy + 1) * len(base)]
        part[:] = base if copy == 0 else base + rng.standard_normal(base.shape, dtype=np.float32) * noise
        part /= np.linalg.norm(part, axis=1, keepdims=True)
    copied = [text if copy == 0 else f"{text} (copy {copy})" for copy in range(copies) for text in texts]
    return copied[:size], embeddings[:size]


def mining_report(embeddings_path: str, size: int, method: str, k: int, copies: int, noise: float,
                  extrapolate_rows: int) -> dict[str, Any]:
    """In the child: one method's neighbours and `mine_pairs` on `size` texts, each timed, and the peak RSS.
    With `extrapolate_rows`, exact search runs on that many query rows only and its time is scaled to all."""
    from models.memory import peak_rss
    from models.mining import MiningSettings, ann_recall, hnsw_index, mine_pairs, neighbours

    texts, embeddings = corpus(embeddings_path, size, copies, noise)
    report: dict[str, Any] = {"size": size, "method": method}
    with peak_rss() as peak:
        if extrapolate_rows:
            start = time.perf_counter()
            neighbours(embeddings, k, rows=(0, extrapolate_rows), chunk_rows=EXTRAPOLATE_CHUNK)
            report["neighbour_seconds"] = (time.perf_counter() - start) * size / extrapolate_rows
            report["extrapolated_from_rows"] = extrapolate_rows
        else:
            start = time.perf_counter()
            index = hnsw_index(embeddings) if method == "hnsw" else None
            report["build_seconds"] = time.perf_counter() - start
            ids, cosines = neighbours(embeddings, k, method=method, index=index)
            report["neighbour_seconds"] = time.perf_counter() - start
            start = time.perf_counter()
            pool, counts = mine_pairs(texts, ids, cosines, embeddings, MiningSettings(neighbours=k))
            report.update(mine_pairs_seconds=time.perf_counter() - start, pairs=len(pool), counts=counts)
            if method == "hnsw":
                start = time.perf_counter()
                report["recall"] = ann_recall(embeddings, k, index=index)
                report["recall_seconds"] = time.perf_counter() - start
    report["peak_rss_mb"] = peak.mb
    return report


def switch_size(rows: list[dict[str, Any]], encode_per_text: float) -> int | None:
    """The corpus size above which exact mining (quadratic) exceeds the budget (linear in encoding): from the
    largest measured exact run, exact ~ a n^2 + m n (m: mine_pairs per text), budget = BUDGET x encode_per_text x n."""
    exact = [r for r in rows if r["method"] == "exact" and "extrapolated_from_rows" not in r]
    if not exact:
        return None
    largest = max(exact, key=lambda r: r["size"])
    a = largest["neighbour_seconds"] / largest["size"] ** 2
    m = largest["mine_pairs_seconds"] / largest["size"]
    return max(int((BUDGET * encode_per_text - m) / a), 0)


def markdown(report: dict[str, Any]) -> str:
    """The "Mining" section for benchmarks/SCALING.md."""
    encode = report["encode_seconds"]
    lines = ["## Mining", "", report["provenance"] + ". " + report["how"], "",
             "| texts | encode once (s) | budget: encode x 1.5 (s) | exact: neighbours + mine_pairs (s) "
             "| hnsw: build + query + mine_pairs (s) | hnsw recall@5 | peak RSS exact / hnsw (MB) |",
             "|---|---|---|---|---|---|---|"]
    for size in sorted({r["size"] for r in report["rows"]}):
        by = {r["method"]: r for r in report["rows"] if r["size"] == size}
        exact, hnsw = by.get("exact"), by.get("hnsw")
        enc = encode.get(str(size))
        cells = [f"{size:,}", f"{enc:.0f}" if enc else "not encoded (noisy copies)",
                 f"{BUDGET * enc:.0f}" if enc else "-"]
        if exact is None:
            cells.append("-")
        elif "extrapolated_from_rows" in exact:
            cells.append(f"~{exact['neighbour_seconds']:.0f} (neighbours only, extrapolated from "
                         f"{exact['extrapolated_from_rows']} query rows in chunks of {EXTRAPOLATE_CHUNK})")
        else:
            cells.append(f"{exact['neighbour_seconds']:.0f} + {exact['mine_pairs_seconds']:.1f}")
        cells.append("-" if hnsw is None else f"{hnsw['build_seconds']:.0f} + "
                     f"{hnsw['neighbour_seconds'] - hnsw['build_seconds']:.0f} + {hnsw['mine_pairs_seconds']:.1f}")
        cells.append("-" if hnsw is None else f"{hnsw['recall']:.3f}")
        cells.append(" / ".join(f"{r['peak_rss_mb']:,}" if r else "-" for r in (exact, hnsw)))
        lines.append("| " + " | ".join(cells) + " |")
    switch = int(float(f"{report['exact_switch_size']:.2g}"))  # two significant figures: it is an estimate
    lines += ["", f"Exact search is within the budget up to about **{switch:,} texts** (exact time grows with the "
              "square of the corpus, encoding linearly; fitted on the largest exact run). Times are wall-clock on a "
              "machine that may be shared with other jobs: encoding and search run under the same conditions, so "
              "their ratio (the budget) says more than the seconds.", ""]
    return "\n".join(lines)


def measure(sizes: Sequence[int], large: int, k: int, copies: int, noise: float, extrapolate_rows: int,
            temp: Path) -> dict[str, Any]:
    """Encode once, then each size's exact and HNSW mining in fresh processes."""
    encoded = max(sizes)
    texts = synthetic_texts(encoded)
    first = min(sizes)
    embeddings_path = str(temp / "embeddings.npy")
    print(f"encoding {encoded:,} texts", flush=True)
    encoding = in_fresh_process("encode", encode_report, texts, first, embeddings_path)
    print(f"encoded: {encoding}", flush=True)
    encode_seconds = {str(first): encoding["first_seconds"],
                      str(encoded): encoding["first_seconds"] + encoding["rest_seconds"]}
    rows = []
    plan = [(size, method, 0) for size in sizes for method in ("exact", "hnsw")]
    if large:
        plan += [(large, "exact", extrapolate_rows), (large, "hnsw", 0)]
    for size, method, rows_only in plan:
        row = in_fresh_process(f"{method} at {size}", mining_report, embeddings_path, size, method, k, copies,
                               noise, rows_only)
        print(json.dumps(row), flush=True)
        rows.append(row)
    per_text = encode_seconds[str(encoded)] / encoded
    return {"encode_seconds": encode_seconds, "encode_peak_rss_mb": encoding["peak_rss_mb"], "rows": rows,
            "exact_switch_size": switch_size(rows, per_text)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="encoded corpus sizes")
    parser.add_argument("--large", type=int, default=LARGE, help="a size made of noisy copies (0: none)")
    parser.add_argument("--k", type=int, default=5, help="neighbours per text")
    parser.add_argument("--noise", type=float, default=0.03, help="sd per dimension of the copies' noise")
    parser.add_argument("--extrapolate-rows", type=int, default=1024, help="query rows timed for exact at --large")
    parser.add_argument("--json", type=Path, default=REPO / "benchmarks" / "mining_scaling.json")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "mining_scaling.md")
    args = parser.parse_args(argv)
    os.environ["TQDM_DISABLE"] = "1"  # spawned children inherit it: a log of results, not of bars
    copies = -(-args.large // max(args.sizes)) if args.large else 1
    with tempfile.TemporaryDirectory() as temp:
        report = measure(args.sizes, args.large, args.k, copies, args.noise, args.extrapolate_rows, Path(temp))
    report["provenance"] = provenance("benchmarks.mining_scaling", argv)
    report["how"] = (f"k = {args.k} neighbours, random share 0.2; texts of 10-15 random words encoded by "
                     "all-MiniLM-L6-v2 (max length 64, batch 128)")
    if args.large:
        report["how"] += (f"; {args.large:,} texts = the {max(args.sizes):,} real embeddings x {copies} with seeded "
                          f"noise (sd {args.noise} per dimension), not encoded")
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    args.out.write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
