"""A local copy of the mteb STS datasets in the hub's own layout, built from the STS folder, so the hub loader is
tested without a network: `<root>/mteb/<name>/<split>.jsonl.gz`, one JSON object (sentence1, sentence2, score)
a line, as the mteb repos store them."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from models.data.hub import BENCHMARK_SPLITS, HUB_SICK, HUB_STS_YEARS, HUB_STSB_SPLITS, HUB_TEST_SETS, HubSplit
from models.data.sts import TEST_SETS, LabelledPairs, load_test_set, read_stsb_split, read_tsv_columns

# mteb/sickr-sts "test" holds every SemEval SICK pair: the train, trial and test files together (9,927).
SICK_SEMEVAL_FILES = ("SICK_train.txt", "SICK_trial.txt", "SICK_test_annotated.txt")


def _sick_semeval(sts_dir: Path) -> LabelledPairs:
    columns = [read_tsv_columns(sts_dir / "sickr" / name, ["sentence_A", "sentence_B", "relatedness_score"])
               for name in SICK_SEMEVAL_FILES]
    sentences1, sentences2, scores = (sum((part[i] for part in columns), []) for i in range(3))
    return LabelledPairs("SICK", sentences1, sentences2, np.array(scores, dtype=np.float64))


def folder_splits(sts_dir: Path) -> dict[HubSplit, LabelledPairs]:
    """Each mteb split the loader reads, as the folder holds it (scored rows only, like the hub copies)."""
    splits = {HUB_TEST_SETS[name]: load_test_set(sts_dir, name) for name in TEST_SETS if name != "SICKRelatedness"}
    stsb = dict(zip(HUB_STSB_SPLITS, ("train", "dev", "test")))
    splits |= {hub_split: read_stsb_split(sts_dir, split, split) for hub_split, split in stsb.items()}
    splits[HUB_SICK] = _sick_semeval(sts_dir)
    assert set(splits) == {*BENCHMARK_SPLITS, *HUB_STS_YEARS, *HUB_STSB_SPLITS}, "every split the loader reads"
    return splits


def build_hub_mirror(sts_dir: Path, root: Path) -> Path:
    """Write every split the loader reads under `root` in the mteb repos' layout; returns `root`."""
    for (dataset_id, split), pairs in folder_splits(sts_dir).items():
        path = root / dataset_id / f"{split}.jsonl.gz"
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            for sentence1, sentence2, score in zip(pairs.sentences1, pairs.sentences2, pairs.scores.tolist()):
                handle.write(json.dumps({"sentence1": sentence1, "sentence2": sentence2, "score": score}) + "\n")
    return root
