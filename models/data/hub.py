"""The same benchmarks from the Hugging Face hub (MTEB copies), used when no data folder is given.

Caveat: mteb/sickr-sts "test" follows MTEB and may hold all 9,927 SemEval SICK pairs rather
than the 4,927 of SICK_test_annotated.txt, so SICK-R numbers from the hub and from a folder
need not match. Pass a data folder for the paper's protocol.
"""
from __future__ import annotations

import numpy as np

from models.data.errors import DATA_DIR_HINT, DataError
from models.data.sts import TEST_SETS, LabelledPairs

# Test-set name -> (hub dataset id, split). All have the columns sentence1, sentence2, score.
HUB_TEST_SETS: dict[str, tuple[str, str]] = {
    "STS12": ("mteb/sts12-sts", "test"),
    "STS13": ("mteb/sts13-sts", "test"),
    "STS14": ("mteb/sts14-sts", "test"),
    "STS15": ("mteb/sts15-sts", "test"),
    "STS16": ("mteb/sts16-sts", "test"),
    "STSBenchmark": ("mteb/stsbenchmark-sts", "test"),
    "SICKRelatedness": ("mteb/sickr-sts", "test"),
}
HUB_STSB_DEV: tuple[str, str] = ("mteb/stsbenchmark-sts", "validation")


def _load_from_hub(name: str, dataset_id: str, split: str) -> LabelledPairs:
    """One split as LabelledPairs; datasets is imported here so folder-only runs never need it."""
    import datasets

    try:
        rows = datasets.load_dataset(dataset_id, split=split)
    except OSError as exc:  # offline, hub unreachable or dataset missing
        raise DataError(f"cannot load {dataset_id} ({split}) from the Hugging Face hub: {exc}; to read a local copy "
                        f"instead, {DATA_DIR_HINT}") from exc
    return LabelledPairs(
        name=name,
        sentences1=list(rows["sentence1"]),
        sentences2=list(rows["sentence2"]),
        scores=np.asarray(rows["score"], dtype=np.float64),
    )


def load_test_sets_from_hub() -> dict[str, LabelledPairs]:
    """All seven test sets, in TEST_SETS order."""
    return {name: _load_from_hub(name, *HUB_TEST_SETS[name]) for name in TEST_SETS}


def load_stsb_dev_from_hub() -> LabelledPairs:
    """STS-B dev (1,500 pairs) for model selection."""
    return _load_from_hub("STSBenchmark-dev", *HUB_STSB_DEV)
