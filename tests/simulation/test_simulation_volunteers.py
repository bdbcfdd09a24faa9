import pytest

from simulation.volunteers import DEFAULT_PROFILES, Profile, crowd, image_is_hard, parse_profiles


def answers(volunteers, *, hard: bool, n: int = 200) -> float:
    """Share of right answers over n images per volunteer, half of them showing corrosion."""
    right = total = 0
    for volunteer in volunteers:
        for i in range(n):
            truth = i % 2 == 0
            right += volunteer.ticks(corrosion=truth, hard=hard) == truth
            total += 1
    return right / total


def first(n: int, **kwargs):
    stream = crowd(**kwargs)
    return [next(stream) for _ in range(n)]


def test_it_gives_the_same_crowd_for_the_same_seed():
    one, two = first(50, seed=3), first(50, seed=3)
    assert [(v.profile.name, v.rounds, v.accuracy_easy) for v in one] == [
        (v.profile.name, v.rounds, v.accuracy_easy) for v in two
    ]
    assert [v.ticks(corrosion=True, hard=True) for v in one] == [v.ticks(corrosion=True, hard=True) for v in two]
    assert [v.profile.name for v in first(50, seed=4)] != [v.profile.name for v in one]


def test_it_mixes_profiles_in_their_shares():
    names = [v.profile.name for v in first(3000, seed=1)]
    for profile in DEFAULT_PROFILES:
        assert names.count(profile.name) / len(names) == pytest.approx(profile.share, abs=0.03)


def test_it_makes_careless_voters_coin_flips_and_experts_reliable():
    volunteers = first(600, seed=2)
    careless = [v for v in volunteers if v.profile.name == "careless"]
    experts = [v for v in volunteers if v.profile.name == "expert"]
    assert answers(careless, hard=False) == pytest.approx(0.5, abs=0.04)
    assert answers(experts, hard=False) > 0.94
    assert answers(experts, hard=True) == pytest.approx(0.85, abs=0.05)


def test_it_splits_the_crowd_40_to_60_on_hard_images():
    share_right_on_hard = answers(first(400, seed=5), hard=True, n=50)
    assert 0.4 <= share_right_on_hard <= 0.6
    assert answers(first(400, seed=5), hard=False, n=50) > 0.78


def test_it_marks_a_fixed_share_of_images_hard_whatever_the_strategy():
    hashes = [f"{i:064x}" for i in range(5000)]
    hard = [image_is_hard(sha, hard_share=0.2, seed=0) for sha in hashes]
    assert sum(hard) / len(hard) == pytest.approx(0.2, abs=0.02)
    assert hard == [image_is_hard(sha, hard_share=0.2, seed=0) for sha in hashes]


def test_it_keeps_sessions_of_realistic_lengths():
    rounds = [v.rounds for v in first(2000, seed=6, rounds_mean=8)]
    assert min(rounds) == 1 and max(rounds) <= 40
    assert sum(rounds) / len(rounds) == pytest.approx(8, rel=0.15)


def test_it_parses_a_profile_mix_and_refuses_nonsense():
    assert parse_profiles("expert:0.1:0.97:0.85, bot:0.9:0.5:0.5") == (
        Profile("expert", share=0.1, accuracy_easy=0.97, accuracy_hard=0.85),
        Profile("bot", share=0.9, accuracy_easy=0.5, accuracy_hard=0.5),
    )
    for bad in ("", "expert:0.1:0.97", "expert:x:0.9:0.8", "expert:0.1:1.5:0.8", "expert:-1:0.9:0.8"):
        with pytest.raises(ValueError):
            parse_profiles(bad)
