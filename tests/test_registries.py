"""The names the CLI offers are exactly the ones the code can run."""
from __future__ import annotations

from models.config import CHOICES
from models.training.losses import BI_LOSSES
from models.warmup import METHODS


def test_warmup_choices_are_the_registered_methods_and_none() -> None:
    assert set(CHOICES["warmup"]) == {*METHODS, "none"}


def test_bi_loss_choices_are_the_registered_losses() -> None:
    assert set(CHOICES["bi_loss"]) == set(BI_LOSSES)
