"""The same benchmarks from the Hugging Face hub (MTEB copies), used when no data folder is given.

Each dataset is read with `datasets.load_dataset(id, split=...)`, or, when TRANS_ENCODER_HUB_MIRROR names a
folder, from `<folder>/<owner>/<name>/` holding the repo's files as the hub stores them (the mteb STS repos keep
`train.jsonl.gz`, `validation.jsonl.gz`, `test.jsonl.gz` at their root): a mirror for machines with no network.

Caveat: mteb/sickr-sts "test" follows MTEB and holds all 9,927 SemEval SICK pairs (train, trial and test) rather
than the 4,927 of SICK_test_annotated.txt, so SICK-R numbers from the hub and from a folder need not match. Pass a
data folder for the paper's protocol.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np

from models.data.errors import DATA_DIR_HINT, DataError
from models.data.sts import STS_YEARS, TEST_SETS, LabelledPairs

HUB_MIRROR_ENV = "TRANS_ENCODER_HUB_MIRROR"

# A dataset split on the hub: (dataset id, split). All have the columns sentence1, sentence2, score.
HubSplit = tuple[str, str]

# Test-set name -> its split on the hub.
HUB_TEST_SETS: dict[str, HubSplit] = {
    "STS12": ("mteb/sts12-sts", "test"),
    "STS13": ("mteb/sts13-sts", "test"),
    "STS14": ("mteb/sts14-sts", "test"),
    "STS15": ("mteb/sts15-sts", "test"),
    "STS16": ("mteb/sts16-sts", "test"),
    "STSBenchmark": ("mteb/stsbenchmark-sts", "test"),
    "SICKRelatedness": ("mteb/sickr-sts", "test"),
}
HUB_STSB_DEV: HubSplit = ("mteb/stsbenchmark-sts", "validation")
BENCHMARK_SPLITS: tuple[HubSplit, ...] = (*HUB_TEST_SETS.values(), HUB_STSB_DEV)
# The pools' parts, in the order the folder reads them: STS12-16 (scored rows only: the hub copies lack the
# unscored ones), STS-B train, dev and test, and all of SICK.
HUB_STS_YEARS: tuple[HubSplit, ...] = tuple(HUB_TEST_SETS[name] for name in STS_YEARS)
HUB_STSB_SPLITS: tuple[HubSplit, ...] = (("mteb/stsbenchmark-sts", "train"), HUB_STSB_DEV,
                                         HUB_TEST_SETS["STSBenchmark"])
HUB_SICK: HubSplit = HUB_TEST_SETS["SICKRelatedness"]


def hub_mirror() -> Path | None:
    """The local copy of the hub datasets named by TRANS_ENCODER_HUB_MIRROR, else None (the hub itself)."""
    chosen = os.environ.get(HUB_MIRROR_ENV)
    return Path(chosen) if chosen else None


def hub_origin() -> str:
    """Where hub datasets are read from, in words."""
    mirror = hub_mirror()
    return f"the hub mirror {mirror} ({HUB_MIRROR_ENV})" if mirror else "the Hugging Face hub"


def _dataset_path(dataset_id: str, mirror: Path | None) -> str:
    """What `datasets.load_dataset` gets: the mirror's folder for the dataset, else the hub id unchanged."""
    if mirror is None:
        return dataset_id
    folder = mirror / dataset_id
    if not folder.is_dir():
        raise DataError(f"the hub mirror {mirror} ({HUB_MIRROR_ENV}) has no folder {dataset_id}; download the "
                        f"dataset repo there (e.g. `hf download {dataset_id} --repo-type dataset "
                        f"--local-dir {folder}`)")
    return str(folder.resolve())


@functools.lru_cache(maxsize=None)
def _load_split(dataset_id: str, split: str, mirror: Path | None) -> LabelledPairs:
    """One split, read once per process and mirror; datasets is imported here so folder-only runs never need it."""
    import datasets

    path = _dataset_path(dataset_id, mirror)
    try:
        rows = datasets.load_dataset(path, split=split)
    except (OSError, ValueError) as exc:  # offline, hub unreachable, dataset or split missing
        raise DataError(f"cannot load {dataset_id} ({split}) from {hub_origin()}: {exc}; to read a local copy "
                        f"instead, {DATA_DIR_HINT}") from exc
    return LabelledPairs(
        name=f"{dataset_id}:{split}",
        sentences1=list(rows["sentence1"]),
        sentences2=list(rows["sentence2"]),
        scores=np.asarray(rows["score"], dtype=np.float64),
    )


def load_hub_split(hub_split: HubSplit) -> LabelledPairs:
    """One dataset split from the hub, or from the mirror when one is set."""
    return _load_split(*hub_split, hub_mirror())


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def hub_identity(hub_splits: list[HubSplit]) -> str:
    """The splits a run reads, each by its id and the digest of its content (sentences and scores), for the keys
    of the stages that read them: a changed hub copy, or a mirror holding other rows, changes those keys."""
    if not hub_splits:
        return "hub"  # nothing is read from the hub
    contents = {}
    for dataset_id, split in hub_splits:
        pairs = load_hub_split((dataset_id, split))
        contents[f"{dataset_id}:{split}"] = _digest([pairs.sentences1, pairs.sentences2, pairs.scores.tolist()])
    return "hub:" + _digest(contents)


def _named(name: str, hub_split: HubSplit) -> LabelledPairs:
    pairs = load_hub_split(hub_split)
    return LabelledPairs(name, pairs.sentences1, pairs.sentences2, pairs.scores)


def load_test_sets_from_hub() -> dict[str, LabelledPairs]:
    """All seven test sets, in TEST_SETS order."""
    return {name: _named(name, HUB_TEST_SETS[name]) for name in TEST_SETS}


def load_stsb_dev_from_hub() -> LabelledPairs:
    """STS-B dev (1,500 pairs) for model selection."""
    return _named("STSBenchmark-dev", HUB_STSB_DEV)

