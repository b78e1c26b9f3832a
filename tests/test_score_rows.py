"""Score-table rows and export keys read back from their labels exactly as they were written."""
from __future__ import annotations

import pytest

from models.reporting.score_rows import WARM_UP, ExportKey, ScoreRow


@pytest.mark.parametrize("label, kind, member, cycle", [
    ("start bi", "bi", None, None),
    ("warm-up bi", "bi", None, WARM_UP),
    ("cycle 12 cross", "cross", None, 12),
    ("cycle 1 minilm-l6 bi", "bi", "minilm-l6", 1),
    ("start my model 2 bi", "bi", "my model 2", None),  # a member folder with spaces
    ("cycle 3 ensemble cross", "cross", "ensemble", 3),
])
def test_a_label_parses_to_its_parts_and_back(label: str, kind: str, member: str | None, cycle: int | None) -> None:
    row = ScoreRow.parse(label)
    assert (row.export.kind, row.export.member, row.cycle) == (kind, member, cycle)
    assert row.label == label
    assert row.is_start == (cycle is None)


def test_one_member_rows_leave_the_member_unnamed() -> None:
    assert ScoreRow.of("cross", 2, "minilm-l6", single=True).label == "cycle 2 cross"
    assert ScoreRow.of("cross", 2, "minilm-l6", single=False).label == "cycle 2 minilm-l6 cross"


@pytest.mark.parametrize("label", ["cycle two bi", "best bi", "cycle 1 minilm", ""])
def test_a_label_that_is_no_row_is_refused(label: str) -> None:
    with pytest.raises(ValueError):
        ScoreRow.parse(label)


def test_export_keys() -> None:
    assert ExportKey.parse("minilm-l6 bi") == ExportKey("bi", "minilm-l6")
    assert ExportKey.parse("cross").label == "cross"
