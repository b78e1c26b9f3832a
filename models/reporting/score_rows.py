"""The rows of a run's score table, typed: which model (kind, member) at which point (start, warm-up, cycle N).

A manifest stores a row as its label ('cycle 2 minilm-l6 bi') and an export as its key ('minilm-l6 bi');
`ScoreRow.parse` and `ExportKey.parse` are the one place either is read back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

KINDS: tuple[str, ...] = ("bi", "cross")
WARM_UP = 0  # the "cycle" of the warm-up's output, scored before cycle 1
ENSEMBLE = "ensemble"  # the member name of the mean of the members' predictions


@dataclass(frozen=True)
class ExportKey:
    """One exported model: its kind, and its member in a run of several ('minilm-l6 bi'; 'bi' with one member)."""

    kind: str
    member: str | None = None

    @property
    def label(self) -> str:
        return self.kind if self.member is None else f"{self.member} {self.kind}"

    @classmethod
    def parse(cls, label: str) -> ExportKey:
        member, _, kind = label.rpartition(" ")
        if kind not in KINDS:
            raise ValueError(f"{label!r} is not an export key ('bi', 'cross' or '<member> <kind>')")
        return cls(kind, member or None)


@dataclass(frozen=True)
class ScoreRow:
    """One row of the score table: a model (`export`) at the start (cycle None), after the warm-up (cycle 0) or
    after cycle N."""

    export: ExportKey
    cycle: int | None

    @property
    def is_start(self) -> bool:
        return self.cycle is None

    @property
    def label(self) -> str:
        when = "start" if self.cycle is None else "warm-up" if self.cycle == WARM_UP else f"cycle {self.cycle}"
        return f"{when} {self.export.label}"

    @classmethod
    def of(cls, kind: str, cycle: int | None, member: str, single: bool) -> ScoreRow:
        """The row of `member`'s model in a run of one member (`single`: the member goes unnamed) or several."""
        return cls(ExportKey(kind, None if single else member), cycle)

    @classmethod
    def parse(cls, label: str) -> ScoreRow:
        first, _, rest = label.partition(" ")
        if first == "cycle":
            number, _, rest = rest.partition(" ")
            return cls(ExportKey.parse(rest), int(number))
        if first in ("start", "warm-up"):
            return cls(ExportKey.parse(rest), None if first == "start" else WARM_UP)
        raise ValueError(f"{label!r} is not a score row ('start ...', 'warm-up ...' or 'cycle N ...')")


def export_folders(exports: Mapping[str, str], key: str) -> list[str]:
    """The folders behind an export key: its own, or for an ensemble its members' of its kind (the ensemble's score
    is the mean of theirs). A run exports members only, so every export of the ensemble's kind is a member."""
    export = ExportKey.parse(key)
    if export.member != ENSEMBLE:
        return [exports[key]]
    return [folder for label, folder in exports.items() if ExportKey.parse(label).kind == export.kind]
