"""The simulation's image set: an ImageFolder tree whose folder names are the ground truth."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from quiz.imaging import image_folder_files, sha256_of
from quiz.models import Label


@dataclass(frozen=True)
class TruthImage:
    path: Path
    label: str
    split: str
    sha256: str

    @property
    def corrosion(self) -> bool:
        return self.label == "corrosion"


def dataset_load(root: Path) -> list[TruthImage]:
    """Every image under ROOT/train and ROOT/validation with its true label and content hash."""
    images = []
    for split in ("train", "validation"):
        folder = root / split
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is missing: the dataset needs train/ and validation/ ImageFolders")
        for path, label in image_folder_files(folder, Label.values):
            images.append(TruthImage(path=path, label=label, split=split, sha256=sha256_of(path.read_bytes())))
    if not any(image.split == "validation" for image in images):
        raise FileNotFoundError(f"no images in {root}/validation")
    return images


def seed_sample(images: list[TruthImage], *, count: int, seed: int) -> set[str]:
    """A stratified random sample of training images (by content hash) that start with their labels."""
    train = [image for image in images if image.split == "train"]
    if count > len(train):
        raise ValueError(f"asked for {count} labelled seed images but the training set has {len(train)}")
    rng = random.Random(seed)
    chosen: set[str] = set()
    for label in sorted({image.label for image in train}):
        members = sorted((image for image in train if image.label == label), key=lambda image: image.sha256)
        wanted = round(count * len(members) / len(train))
        chosen |= {image.sha256 for image in rng.sample(members, min(wanted, len(members)))}
    return chosen


def stage_folders(images: list[TruthImage], *, seed_hashes: set[str], into: Path) -> dict[str, Path]:
    """Symlink farms for the three imports: labelled seed, unlabelled pool, expert validation."""
    folders = {name: into / name for name in ("seed", "pool", "validation")}
    for image in images:
        if image.split == "validation":
            target = folders["validation"] / image.label
        elif image.sha256 in seed_hashes:
            target = folders["seed"] / image.label
        else:
            # The pool's folder name is never read: it is imported --unlabelled.
            target = folders["pool"] / "images"
        target.mkdir(parents=True, exist_ok=True)
        link = target / f"{image.sha256[:16]}{image.path.suffix.lower()}"
        if not link.exists():
            os.symlink(image.path.resolve(), link)
    return folders
