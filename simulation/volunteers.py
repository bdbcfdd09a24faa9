"""Simulated volunteers: who answers a quiz image how.

Pure Python (no Django, no HTTP), so the noise model can be tested on its own
and a seed reproduces the same crowd.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """A kind of volunteer: how often they are right on easy and on hard images.

    An accuracy of 0.5 is a coin flip: the volunteer ticks at random whatever the image shows.
    """

    name: str
    share: float
    accuracy_easy: float
    accuracy_hard: float
    # Each volunteer's accuracies are drawn from ±spread around the profile's, so no two casual voters are alike.
    spread: float = 0.0

    def __post_init__(self):
        if self.share < 0:
            raise ValueError(f"profile {self.name}: share must be ≥ 0")
        for value in (self.accuracy_easy, self.accuracy_hard):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"profile {self.name}: accuracies must lie in [0, 1]")


# Documented defaults (docs/simulation.md). With 20% hard images, casual and careless voters are coin
# flips on hard ones and experts mostly right, so a hard image's votes split about 46/54, as the paper saw on
# weathering steel, red paint and mill scale; easy images get about 83% right answers.
DEFAULT_PROFILES: tuple[Profile, ...] = (
    Profile("expert", share=0.10, accuracy_easy=0.97, accuracy_hard=0.85, spread=0.02),
    Profile("casual", share=0.70, accuracy_easy=0.90, accuracy_hard=0.50, spread=0.05),
    Profile("careless", share=0.20, accuracy_easy=0.50, accuracy_hard=0.50),
)
DEFAULT_HARD_SHARE = 0.2
DEFAULT_ROUNDS_MEAN = 8.0


def image_is_hard(sha256: str, *, hard_share: float, seed: int) -> bool:
    """Whether an image is hard, fixed by its content and the seed (the same for every strategy)."""
    digest = hashlib.sha256(f"{seed}:{sha256}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < hard_share


@dataclass
class Volunteer:
    index: int
    profile: Profile
    accuracy_easy: float
    accuracy_hard: float
    rounds: int
    rng: random.Random

    def ticks(self, *, corrosion: bool, hard: bool) -> bool:
        """Whether this volunteer ticks an image as showing corrosion."""
        accuracy = self.accuracy_hard if hard else self.accuracy_easy
        right = self.rng.random() < accuracy
        return corrosion if right else not corrosion


def crowd(
    *,
    seed: int,
    profiles: Sequence[Profile] = DEFAULT_PROFILES,
    rounds_mean: float = DEFAULT_ROUNDS_MEAN,
    max_rounds: int = 40,
) -> Iterator[Volunteer]:
    """An endless stream of volunteers arriving one after another, the same stream for the same seed.

    Each stays for a geometric number of rounds (mean `rounds_mean`): most take a few rounds, a few take many.
    """
    total = sum(profile.share for profile in profiles)
    if total <= 0:
        raise ValueError("at least one volunteer profile needs a share above 0")
    if rounds_mean < 1:
        raise ValueError("rounds_mean must be at least 1")
    arrivals = random.Random(seed)
    weights = [profile.share / total for profile in profiles]
    index = 0
    while True:
        profile = arrivals.choices(profiles, weights)[0]
        jitter = arrivals.uniform(-profile.spread, profile.spread)
        rounds = 1
        while rounds < max_rounds and arrivals.random() > 1 / rounds_mean:
            rounds += 1
        yield Volunteer(
            index=index,
            profile=profile,
            accuracy_easy=_clip(profile.accuracy_easy + jitter),
            accuracy_hard=_clip(profile.accuracy_hard + jitter),
            rounds=rounds,
            rng=random.Random(f"{seed}:{index}"),
        )
        index += 1


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def parse_profiles(text: str) -> tuple[Profile, ...]:
    """`name:share:accuracy_easy:accuracy_hard[,...]`, e.g. `expert:0.1:0.97:0.85,careless:0.2:0.5:0.5`."""
    profiles = []
    for part in filter(None, (item.strip() for item in text.split(","))):
        fields = part.split(":")
        if len(fields) != 4:
            raise ValueError(f"profile {part!r}: expected name:share:accuracy_easy:accuracy_hard")
        name, *numbers = fields
        try:
            share, easy, hard = (float(number) for number in numbers)
        except ValueError:
            raise ValueError(f"profile {part!r}: share and accuracies must be numbers") from None
        profiles.append(Profile(name, share=share, accuracy_easy=easy, accuracy_hard=hard))
    if not profiles:
        raise ValueError("no volunteer profiles given")
    return tuple(profiles)
