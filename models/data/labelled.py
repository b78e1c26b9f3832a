"""A user's own labelled pairs (graded or binary), read with the same checks as a custom pool."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.data.errors import DataError
from models.data.pools import check_pair_file, read_pair_table, select_text
from models.data.sts import LabelledPairs

WHAT = "labelled pair file"


def load_labelled_pairs(path: Path, text_a: str = "sentence1", text_b: str = "sentence2",
                        label: str = "label", encoding: str = "utf-8") -> LabelledPairs:
    """Pairs with a numeric label per row; the first bad row is named in the error."""
    path = check_pair_file(Path(path), WHAT)
    table = read_pair_table(path, WHAT, encoding)
    if label not in table.columns:
        raise DataError(f"{path} has no label column {label!r} (columns: {', '.join(map(str, table.columns))}); "
                        f"pass --label-column NAME")
    texts = select_text(table, path, text_a, text_b)
    values = pd.to_numeric(table[label], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0]) + 1
        raise DataError(f"{path}, data row {row}: label column {label!r} holds {table[label].iloc[row - 1]!r}, "
                        "not a number; labels must be graded scores or 0/1")
    if np.unique(values).size < 2:
        raise DataError(f"{path}: every label in column {label!r} is {values[0]:g}; "
                        "a correlation or ROC-AUC needs at least two different labels")
    return LabelledPairs(path.name, texts["text_a"].tolist(), texts["text_b"].tolist(), values)
