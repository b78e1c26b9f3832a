"""Every setting of a run in one flat, frozen dataclass (the named presets are settings files in pipeline/presets/).

Flat on purpose: the CLI, the Prefect parameters and the cache keys are all generated
from these fields, so a new setting is added in one place.
"""
from __future__ import annotations

import codecs
import dataclasses
from dataclasses import dataclass, field
from typing import Any

WARMUP_METHODS: tuple[str, ...] = ("mirror", "simcse", "isbert", "none")
LABEL_TRANSFORMS: tuple[str, ...] = ("raw", "clip", "minmax")
POOL_NAMES: tuple[str, ...] = ("stsb", "sts", "sickr", "sts_sickr", "custom", "corpus")

# The settings that take one of a few values: the CLI lists them, validation names them. Kept here, free of torch,
# so that settings and --help load fast; tests/test_registries.py ties the warm-up and loss names to their registries
# (models.warmup.METHODS, models.training.losses.BI_LOSSES).
CHOICES: dict[str, tuple[str, ...]] = {
    "pooling": ("cls", "mean"),
    "pool": POOL_NAMES,
    "warmup": WARMUP_METHODS,
    "label_transform": LABEL_TRANSFORMS,
    "labellers_join": ("own", "both"),
    "precision": ("auto", "fp32", "bf16", "fp16"),
    "eval": ("sts", "dev", "none"),
    "distil_from": ("cross", "all"),
    "bi_loss": ("mse", "cosent"),
    "backend": ("torch", "onnx"),
}


# int8 dynamic quantisation has CPU kernels only: on a GPU the flag would change the labelling stages' keys and
# nothing else, so it is refused (here for an explicit cuda device, in pipeline/preflight.py for `auto` on a GPU).
INT8_ON_GPU = "--label-int8 labels on CPU only, and {device} labels on a GPU; drop --label-int8, or pass --device cpu"


@dataclass(frozen=True)
class PipelineConfig:
    """One Trans-Encoder run. Defaults are the reference code's (the `paper` preset)."""

    # what to start from and what to learn on
    model: str = field(default="minilm-l6", metadata={"help": "start model: a local folder, an installed short name (minilm-l6, mpnet-base) or a hub id"})
    models: str | None = field(default=None, metadata={"help": "mutual distillation: comma-separated start models, each trained side by side on the averaged labels (replaces --model)"})
    labellers: str | None = field(default=None, metadata={"help": "comma-separated frozen models whose scores join the label average of their kind (bi-encoder: bi->cross labels; cross-encoder: cross->bi labels); never trained"})
    labellers_join: str = field(default="own", metadata={"help": "own: a frozen labeller joins its kind's average only; both: the bi->cross and the cross->bi average"})
    pooling: str | None = field(default=None, metadata={"help": "bi-encoder pooling, cls or mean (default: the model folder's own, else cls)"})
    pool: str = field(default="sts_sickr", metadata={"help": "unlabelled pairs: stsb, sts, sickr, sts_sickr, custom (your pairs, --pool-path) or corpus (pairs mined from your texts, --corpus-path)"})
    pool_path: str | None = field(default=None, metadata={"help": "the file of a custom pool (.csv, .tsv, .parquet, .jsonl)"})
    corpus_path: str | None = field(default=None, metadata={"help": "--pool corpus: your texts, one per line (.txt) or a column (--text) of a .csv, .tsv, .parquet or .jsonl; the pool is mined from them"})
    text: str = field(default="text", metadata={"help": "the text column of a --corpus-path table"})
    mine_neighbours: int = field(default=3, metadata={"help": "--pool corpus: nearest neighbours mined per text by the start bi-encoders' mean cosine (3 and --mine-random 0.1 scored above 5 and 0.2 on STS-B dev for both exports: benchmarks/CORPUS.md)"})
    mine_random: float = field(default=0.1, metadata={"help": "--pool corpus: share of the mined pool that is random pairs (mostly unrelated), so the pool spans near-paraphrases to unrelated pairs"})
    mine_balance: bool = field(default=False, metadata={"help": "--pool corpus: draw the neighbour pairs evenly over cosine bands of 0.1 (with a deep --mine-neighbours list) instead of uniformly, so the labels span near-paraphrases to weakly related pairs; off by default: with 50 neighbours it scored below 3 uniform ones on STS-B dev for both exports (benchmarks/CORPUS.md)"})
    mine_lexical: int = field(default=0, metadata={"help": "--pool corpus: lexical neighbours per text (the texts sharing most of its rarer words, by TF-IDF cosine), drawn with the embedding neighbours: pairs that look alike whatever they mean, the hard pairs that given pair sets are full of (0: none; the corpus-cpu preset mines 3: with 3 cross-encoder epochs they raised its STS-B dev from 84.29 to 86.21 and lowered the bi-encoder's from 87.31 to 87.02, benchmarks/CORPUS.md)"})
    mine_exact_max: int = field(default=100_000, metadata={"help": "--pool corpus: exact neighbour search up to this many texts, an approximate faiss HNSW index above (its recall on a sample is in the manifest); at 100k texts HNSW was 2.3x faster at recall@5 0.990 (benchmarks/SCALING.md)"})
    text_a: str = field(default="sentence1", metadata={"help": "first text column of a custom pool"})
    text_b: str = field(default="sentence2", metadata={"help": "second text column of a custom pool"})
    encoding: str = field(default="utf-8", metadata={"help": "text encoding of --pool-path and --dev-pairs files (e.g. latin-1, cp1252, utf-16); UTF-8 files may start with a byte-order mark"})
    strict: bool = field(default=False, metadata={"help": "a pool row with an empty sentence is an error (default: dropped, with a count)"})
    data_dir: str | None = field(default=None, metadata={"help": "STS benchmark folder (layout of shared/data/sts); default: $STS_DATA_DIR, else the Hugging Face hub"})
    max_pairs: int | None = field(default=None, metadata={"help": "use N pairs drawn at random (by --seed) from the pool (quick runs)"})

    # what chooses the best cycle and what is reported
    eval: str | None = field(default=None, metadata={"help": "sts: the 7 STS test sets + STS-B dev (from --data-dir, or the hub when asked for); dev: only --dev-pairs; none: no scoring, the last cycle is exported (default: sts when the STS data is found locally, else dev with --dev-pairs, else none)"})
    dev_pairs: str | None = field(default=None, metadata={"help": "your small labelled pair file (graded scores or 0/1; same columns as the pool, --text-a/--text-b): chooses the best cycle (Spearman or ROC-AUC)"})
    label_column: str = field(default="label", metadata={"help": "the label column of --dev-pairs"})
    dev_retrieval: str | None = field(default=None, metadata={"help": "a search task (a BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv; or a pair file with 0/1 labels, --text-a/--text-b/--label-column) that chooses the best cycle by nDCG@10: each cycle's bi-encoder searches it, and its cross-encoder is scored reranking that bi-encoder's top --rerank-k (how a cross-encoder serves search)"})
    rerank_k: int = field(default=20, metadata={"help": "with --dev-retrieval: how many of the bi-encoder's top documents per query the cross-encoder reranks"})

    # warm-up (contrastive, label-free)
    warmup: str = field(default="mirror", metadata={"help": "warm-up method: mirror (Mirror-BERT), simcse (SimCSE), isbert (IS-BERT: an n-gram CNN and mean pooling join the model) or none"})
    warmup_sentences: int = field(default=10_000, metadata={"help": "how many pool sentences the warm-up reads"})
    warmup_lr: float = 2e-5
    warmup_batch_size: int = 200
    warmup_epochs: int = 1
    warmup_max_length: int = 50
    warmup_temperature: float | None = field(default=None, metadata={"help": "InfoNCE temperature (default: 0.04 mirror, 0.05 simcse)"})
    mirror_span: int = field(default=5, metadata={"help": "tokens in the masked span of Mirror-BERT"})

    # the cycles
    cycles: int = 3
    label_transform: str = field(default="raw", metadata={"help": "bi->cross label transform: raw (reference), clip to [0,1], or minmax"})
    symmetric: bool = field(default=False, metadata={"help": "cross-encoder labels average both pair orders"})
    reinit: bool = field(default=False, metadata={"help": "each cycle restarts the cross-encoder from the start model and the bi-encoder from the warm-up"})
    distil_from: str = field(default="cross", metadata={"help": "the bi-encoders' teacher: cross (the paper: the mean of the cross scorers) or all (the mean of every cross and bi scorer of the cycle)"})

    # cross-encoder fitting (bi -> cross)
    cross_lr: float = 2e-5
    cross_batch_size: int = 32
    cross_epochs: int = 1
    cross_max_length: int = 64
    cross_warmup_ratio: float = 0.1
    cross_head_lr: float | None = field(default=None, metadata={"help": "learning rate of the cross-encoder's freshly initialised layers (the classifier head, and the pooler where the checkpoint has none; default: --cross-lr)"})

    # bi-encoder distillation (cross -> bi)
    bi_lr: float = 5e-5
    bi_batch_size: int = 128
    bi_epochs: int = 10
    bi_max_length: int = 32
    bi_warmup_ratio: float = 0.0
    bi_loss: str = field(default="mse", metadata={"help": "cross->bi loss: mse (the paper: cosine regresses the teacher's score) or cosent (CoSENT: the teacher's order within each --micro-batch)"})

    weight_decay: float = 0.01
    micro_batch: int | None = field(default=16, metadata={"help": "examples per forward pass when fitting the cross-encoder and distilling the bi-encoder: per-example losses (mse) add up to the whole batch's gradient, so memory follows the part, while cosent ranks pairs within each part (dropout masks are drawn per part, so another value follows another random path of the same recipe; unset: the whole batch at once; the warm-up's in-batch negatives always need the whole batch)"})
    max_steps: int | None = field(default=None, metadata={"help": "cap on optimiser steps per training stage (quick runs)"})
    label_int8: bool = field(default=False, metadata={"help": "label the pool (bi-labels, cross-labels) in int8: each labeller's ONNX graph with per-channel int8 weights on ONNX Runtime, on CPU only (needs the onnx extra); 1.3-3.4x faster within 0.3 points of STS-B dev for MiniLM, MPNet and the cpu cross-encoder (benchmarks/INT8.md); training and evaluation stay full precision"})
    backend: str = field(default="torch", metadata={"help": "pool labelling runtime: torch, or onnx (ONNX Runtime on each labeller's graph, exported when it labels; CPU only); training and evaluation stay on torch"})
    onnx_export: bool = field(default=False, metadata={"help": "each export also carries ONNX graphs (onnx/model.onnx, int8 onnx/model_qint8_avx2.onnx) in the layout sentence-transformers' backend='onnx' reads, for --backend onnx; needs the onnx extra (make setup installs it); the presets turn it on"})
    shard_pairs: int | None = field(default=None, metadata={"help": "label the pool in shards of N pairs, and search a corpus's neighbours (--pool corpus) in blocks of N texts, each its own cached task (on Ray: spread over the workers), then merge them into one artifact equal to the unsharded one (default: one task per labelling or search)"})
    embedding_cache: bool = field(default=True, metadata={"help": "keep the embeddings of the models no stage trains (start models' benchmark scores, frozen labellers' pool labels) in $TE_EMBEDDING_CACHE (default ~/.cache/trans-encoder/embeddings), so each sentence is encoded once per machine"})
    eval_batch_size: int = 128
    eval_max_length: int = field(default=256, metadata={"help": "tokens per sentence (bi) or pair (cross) when scoring benchmarks; 256 is sentence-transformers' default"})
    seed: int = 42
    device: str = field(default="auto", metadata={"help": "auto, cpu, cuda or cuda:N"})
    run_name: str | None = field(default=None, metadata={"help": "the run folder's name under --out (default: the preset and a digest of the settings; the digest is in the manifest either way)"})
    precision: str = field(default="auto", metadata={"help": "auto (bf16/fp16 on GPU, fp32 on CPU), fp32, bf16 or fp16"})

    def __post_init__(self) -> None:
        for name, choices in CHOICES.items():
            if getattr(self, name) is not None:
                _check_choice(name, getattr(self, name), choices)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"--encoding {self.encoding!r} is not a text encoding Python knows; use e.g. utf-8, "
                             "latin-1, cp1252 or utf-16") from None
        if self.cycles < 1:
            raise ValueError(f"--cycles must be at least 1, got {self.cycles}")
        for name in ("max_pairs", "max_steps", "micro_batch", "shard_pairs", "mine_neighbours", "mine_exact_max",
                     "rerank_k"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be a positive number or left unset, got {value}")
        if len(set(self.members)) < len(self.members):
            raise ValueError(f"--models names a model twice: {self.models}")
        if set(self.members) & set(self.frozen_labellers):
            raise ValueError("a model cannot be both a trained member (--models/--model) and a frozen --labellers entry")
        if self.warmup == "isbert" and self.pooling == "cls":
            raise ValueError("--warmup isbert mean-pools its n-gram features; drop --pooling cls")
        if self.mine_lexical < 0:
            raise ValueError(f"--mine-lexical is a count of neighbours per text, 0 or more; got {self.mine_lexical}")
        if not 0 <= self.mine_random < 1:
            raise ValueError(f"--mine-random is a share in [0, 1), got {self.mine_random}")
        if self.label_int8 and self.device.startswith("cuda"):
            raise ValueError(INT8_ON_GPU.format(device=f"--device {self.device}"))

    def check_input_files_named(self) -> None:
        """Fails in one line where the settings read a file they leave unnamed. Apart from the other checks: a
        preset may leave the user's own file (`--corpus-path`) to the command line."""
        if self.eval == "dev" and not self.dev_pairs:
            raise ValueError("--eval dev needs --dev-pairs FILE (a small labelled pair file)")
        if self.pool == "corpus" and not self.corpus_path:
            raise ValueError("--pool corpus needs --corpus-path FILE (one text per line in a .txt, or a .csv, .tsv, "
                             ".parquet or .jsonl with --text COLUMN)")
        if self.pool == "custom" and not self.pool_path:
            raise ValueError("--pool custom needs --pool-path FILE (a .csv, .tsv, .parquet or .jsonl of sentence pairs)")

    @property
    def members(self) -> tuple[str, ...]:
        """The trained start models: `--models` when given, else the one `--model`."""
        return _split(self.models) or (self.model,)

    @property
    def frozen_labellers(self) -> tuple[str, ...]:
        return _split(self.labellers)

    def for_member(self, model: str) -> "PipelineConfig":
        """This run's settings as seen by one member's stages: `model` is that member."""
        return dataclasses.replace(self, model=model, models=None, labellers=None)

    @property
    def scores_sts(self) -> bool:
        return self.eval == "sts"

    @property
    def evaluates(self) -> bool:
        """False with `--eval none`: nothing is scored and the last cycle is exported."""
        return self.eval != "none"

    @property
    def temperature(self) -> float:
        if self.warmup_temperature is not None:
            return self.warmup_temperature
        return 0.04 if self.warmup == "mirror" else 0.05

    def replace(self, **changes: Any) -> "PipelineConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _split(names: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (names or "").split(",") if name.strip())


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"--{name.replace('_', '-')} must be one of {', '.join(choices)}; got {value!r}")
