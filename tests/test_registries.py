"""Names kept beside their registries agree with them: the CLI's choices, the installed models' origins."""
from __future__ import annotations

from models.config import CHOICES
from models.training.losses import BI_LOSSES
from models.warmup import METHODS


def test_warmup_choices_are_the_registered_methods_and_none() -> None:
    assert set(CHOICES["warmup"]) == {*METHODS, "none"}


def test_bi_loss_choices_are_the_registered_losses() -> None:
    assert set(CHOICES["bi_loss"]) == set(BI_LOSSES)


def test_every_installed_model_names_its_hub_origin() -> None:
    from models.encoders.installed import HUB_ORIGIN, SHORT_NAMES

    assert set(HUB_ORIGIN) == set(SHORT_NAMES)
