"""Which perceptual hash, and which Hamming threshold, catch near-duplicates of validation photos on the real set.

    .venv/bin/python bench/near_duplicates.py                      # the real set, all four hashes
    .venv/bin/python bench/near_duplicates.py --json /tmp/neardup.json --pairs-dir /tmp/neardup-pairs

No database. Every photo of the set (ImageFolder: DIR/train/<label>/*, DIR/validation/<label>/*; default
../shared/data/corrosion) is hashed on the pixels the product hashes: quiz.imaging.thumbnail_pixels, the decode
that import and upload already make for the thumbnail. Each validation photo is then changed four ways —
resized to half, re-encoded at JPEG quality 60, cropped 5 % (2.5 % off each side), brightness +10 % — each
change saved as a JPEG (quality 95, except the quality-60 one) and passed through the upload path
(quiz.imaging.clean_photo, then thumbnail_pixels) before it is hashed.

Figures, for each hash kind (imagehash's average_hash, dhash, phash, whash; 64 bits each):
- caught: how many changed copies lie within the threshold of their own original, by threshold;
- pairs: how many pairs of distinct photos of the whole set (byte-identical files counted once) lie within
  the threshold — false positives unless the two photos really are near-duplicates (--pairs-dir writes each
  flagged pair side by side, to look at);
- the milliseconds the hash adds to an upload (thumbnail_pixels once, then the hash).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageEnhance

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from quiz.imaging import BITS_SET, clean_photo, image_folder_files, thumbnail_pixels  # noqa: E402

DEFAULT_DATASET = ROOT.parent / "shared" / "data" / "corrosion"
LABELS = ("corrosion", "no_corrosion")
KINDS = ("average_hash", "dhash", "phash", "whash")
TRANSFORMS = ("half", "jpeg60", "crop5", "brighter10")
THRESHOLDS = range(0, 25)
# As the upload path: settings.IMAGE_MAX_PIXELS and UPLOAD_MAX_SIDE's defaults.
MAX_PIXELS = 40_000_000
UPLOAD_MAX_SIDE = 1600


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--kind", default="phash", choices=KINDS, help="the hash whose flagged pairs are listed")
    parser.add_argument("--threshold", type=int, default=10, help="the threshold whose flagged pairs are listed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--pairs-dir", type=Path, help="write each flagged pair side by side here (JPEG)")
    return parser.parse_args()


def hashes_of(img: PILImage.Image) -> dict[str, int]:
    import imagehash

    functions = {
        "average_hash": imagehash.average_hash,
        "dhash": imagehash.dhash,
        "phash": imagehash.phash,
        "whash": imagehash.whash,
    }
    return {kind: int(str(functions[kind](img)), 16) for kind in KINDS}


def changed_copies(data: bytes) -> dict[str, bytes]:
    """The four changes of the brief, each as the JPEG bytes someone would upload."""
    with PILImage.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
    width, height = img.size
    dx, dy = round(width * 0.025), round(height * 0.025)
    changed = {
        "half": (img.resize((width // 2, height // 2), PILImage.Resampling.LANCZOS), 95),
        "jpeg60": (img, 60),
        "crop5": (img.crop((dx, dy, width - dx, height - dy)), 95),
        "brighter10": (ImageEnhance.Brightness(img).enhance(1.1), 95),
    }
    copies = {}
    for name, (picture, quality) in changed.items():
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality)
        copies[name] = buffer.getvalue()
    return copies


def as_uploaded(data: bytes) -> PILImage.Image:
    return thumbnail_pixels(clean_photo(data, max_pixels=MAX_PIXELS, max_side=UPLOAD_MAX_SIDE).data)


def pair_distances(hashes: np.ndarray) -> np.ndarray:
    """Hamming distances of every pair i < j (a flat array), with XOR and a byte popcount table."""
    out = []
    for i in range(len(hashes) - 1):
        xor = np.bitwise_xor(hashes[i + 1 :], hashes[i])
        out.append(BITS_SET[xor.view(np.uint8)].reshape(-1, 8).sum(axis=1, dtype=np.uint8))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint8)


def pair_index(n: int, flat: np.ndarray) -> list[tuple[int, int]]:
    starts = np.cumsum([0] + [n - 1 - i for i in range(n - 1)])
    rows = np.searchsorted(starts, flat, side="right") - 1
    return [(int(r), int(r + 1 + f - starts[r])) for r, f in zip(rows, flat)]


def side_by_side(a: Path, b: Path, target: Path) -> None:
    with PILImage.open(a) as left, PILImage.open(b) as right:
        left, right = left.convert("RGB"), right.convert("RGB")
        height = 256
        left = left.resize((round(left.width * height / left.height), height))
        right = right.resize((round(right.width * height / right.height), height))
        canvas = PILImage.new("RGB", (left.width + right.width + 8, height), (255, 255, 255))
        canvas.paste(left, (0, 0))
        canvas.paste(right, (left.width + 8, 0))
        canvas.save(target, quality=85)


def main() -> None:
    args = parse_args()
    files = [
        (split, path)
        for split in ("train", "validation")
        for path, _ in image_folder_files(args.dataset / split, LABELS)
    ]
    if not files:
        raise SystemExit(f"no photos under {args.dataset}/train or {args.dataset}/validation")

    digests: dict[str, int] = {}
    unique: list[tuple[str, Path]] = []
    hashes: dict[str, list[int]] = {kind: [] for kind in KINDS}
    changed: dict[str, dict[str, list[int]]] = {t: {kind: [] for kind in KINDS} for t in TRANSFORMS}
    own: list[int] = []
    hash_ms: list[float] = []
    decode_ms: list[float] = []
    started = time.monotonic()
    for split, path in files:
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in digests:
            continue
        digests[digest] = len(unique)
        unique.append((split, path))
        t0 = time.perf_counter()
        pixels = thumbnail_pixels(data)
        t1 = time.perf_counter()
        values = hashes_of(pixels)
        decode_ms.append((t1 - t0) * 1000)
        t2 = time.perf_counter()
        import imagehash

        imagehash.phash(pixels)
        hash_ms.append((time.perf_counter() - t2) * 1000)
        for kind in KINDS:
            hashes[kind].append(values[kind])
        if split == "validation":
            own.append(len(unique) - 1)
            for name, copy in changed_copies(data).items():
                copy_hashes = hashes_of(as_uploaded(copy))
                for kind in KINDS:
                    changed[name][kind].append(copy_hashes[kind])
    elapsed = time.monotonic() - started

    n = len(unique)
    report: dict = {
        "dataset": str(args.dataset),
        "photos": len(files),
        "distinct_photos": n,
        "validation_photos": len(own),
        "pairs": n * (n - 1) // 2,
        "seconds": round(elapsed, 1),
        "ms_per_photo_decode_to_thumbnail_pixels": round(statistics.median(decode_ms), 2),
        "ms_per_photo_phash": round(statistics.median(hash_ms), 2),
        "kinds": {},
    }
    validation_hashes = {kind: np.array([hashes[kind][i] for i in own], dtype=np.uint64) for kind in KINDS}
    for kind in KINDS:
        all_hashes = np.array(hashes[kind], dtype=np.uint64)
        distances = pair_distances(all_hashes)
        figures: dict = {"transforms": {}, "pairs_within": {}}
        for name in TRANSFORMS:
            copies = np.array(changed[name][kind], dtype=np.uint64)
            to_own = BITS_SET[(copies ^ validation_hashes[kind]).view(np.uint8)].reshape(-1, 8).sum(axis=1)
            figures["transforms"][name] = {
                "max": int(to_own.max()),
                "p99": float(np.percentile(to_own, 99)),
                "mean": round(float(to_own.mean()), 2),
                "caught_within": {t: int((to_own <= t).sum()) for t in THRESHOLDS},
            }
        figures["pairs_within"] = {t: int((distances <= t).sum()) for t in THRESHOLDS}
        figures["photos_in_a_pair_within"] = {
            t: len({i for pair in pair_index(n, np.flatnonzero(distances <= t)) for i in pair}) for t in THRESHOLDS
        }
        if kind == args.kind:
            flagged = np.flatnonzero(distances <= args.threshold)
            pairs = []
            for k, (i, j) in enumerate(pair_index(n, flagged)):
                a, b = unique[i], unique[j]
                pairs.append(
                    {
                        "distance": int(distances[flagged[k]]),
                        "a": f"{a[0]}/{a[1].parent.name}/{a[1].name}",
                        "b": f"{b[0]}/{b[1].parent.name}/{b[1].name}",
                    }
                )
                if args.pairs_dir:
                    args.pairs_dir.mkdir(parents=True, exist_ok=True)
                    side_by_side(a[1], b[1], args.pairs_dir / f"{k:03d}-d{pairs[-1]['distance']}.jpg")
            figures["flagged_pairs"] = sorted(pairs, key=lambda p: p["distance"])
        report["kinds"][kind] = figures

    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
