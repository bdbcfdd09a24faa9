"""Dawid–Skene on ten thousand votes: the in-memory fit alone (no database), against a 1 s target.

    .venv/bin/python bench/aggregation_speed.py
    .venv/bin/python bench/aggregation_speed.py --images 2000 --voters 200 --votes-per-image 5 --repeat 5

Votes are random coins, the worst case for EM: it runs to its iteration cap instead of settling early.
Was a wall-clock assert in tests/quiz/test_aggregation.py; a shared CI machine is no place to time it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 1.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--voters", type=int, default=200)
    parser.add_argument("--votes-per-image", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    from quiz.aggregation import dawid_skene

    args = parse_args()
    rng = np.random.default_rng(0)
    image_idx = np.repeat(np.arange(args.images), args.votes_per_image)
    voter_idx = rng.integers(0, args.voters, size=image_idx.size)
    votes = rng.integers(0, 2, size=image_idx.size).astype(float)
    seconds = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = dawid_skene(image_idx, voter_idx, votes, n_images=args.images, n_voters=args.voters)
        seconds.append(time.perf_counter() - started)
    median = statistics.median(seconds)
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(
        f"{votes.size} votes, {args.images} images, {args.voters} voters: {result.iterations} iterations, "
        f"median {median:.3f} s of {args.repeat} (target < {TARGET_SECONDS:.1f} s: {verdict})"
    )


if __name__ == "__main__":
    main()
