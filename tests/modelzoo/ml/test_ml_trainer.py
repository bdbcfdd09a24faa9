import random

import numpy as np
import pytest
import torch
from training_samples import TRAIN, VAL, small_config

from modelzoo.ml import data, self_training, trainer
from modelzoo.ml.network import CorrosionNet


def test_it_returns_curves_and_metrics():
    rows = []

    result = trainer.train(TRAIN, VAL, small_config(), on_epoch=rows.append)

    assert [row["epoch"] for row in rows] == [1, 2]
    assert result.history == rows
    for row in rows:
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"):
            assert isinstance(row[key], float)
    assert result.best_epoch in (1, 2) and result.epochs == 2
    assert result.val_accuracy == rows[result.best_epoch - 1]["val_acc"]  # reported for the chosen epoch
    assert set(result.precision) == set(result.recall) == {"no_corrosion", "corrosion"}
    assert sum(map(sum, result.confusion)) == len(VAL) == result.n_val
    assert result.n_train == len(TRAIN)
    assert result.device == "cpu"
    assert result.wall_seconds > 0
    assert "state_dict" not in result.summary()


def test_it_keeps_the_weights_of_the_best_validation_epoch():
    result = trainer.train(TRAIN, VAL, small_config(epochs=3))

    model = trainer.model_from_result(result)
    config = trainer.TrainConfig.from_dict(result.config)
    images, labels = data.build_view_cache(VAL, config.views)
    metrics = trainer.evaluate(
        model,
        images,
        labels,
        config=config,
        device=torch.device("cpu"),
        normalise=data.Normaliser(torch.device("cpu")),
    )

    assert metrics["val_acc"] == result.val_accuracy
    assert metrics["val_loss"] == pytest.approx(result.val_loss, abs=1e-5)
    assert metrics["confusion"] == result.confusion


def test_it_gives_identical_metrics_for_the_same_seed():
    first = trainer.train(TRAIN, VAL, small_config())
    second = trainer.train(TRAIN, VAL, small_config())
    other = trainer.train(TRAIN, VAL, small_config(seed=4))

    def curves(result):
        return [(r["train_loss"], r["val_loss"], r["val_acc"]) for r in result.history]

    assert curves(first) == curves(second)
    assert all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    assert curves(first) != curves(other)


def test_it_learns_the_easy_synthetic_labels():
    result = trainer.train(TRAIN, VAL, small_config(epochs=6))

    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.val_accuracy >= 0.85


def test_it_weights_classes_by_inverse_frequency():
    weights = trainer.class_weights(torch.tensor([0, 0, 0, 1]))

    assert torch.allclose(weights, torch.tensor([4 / 6, 4 / 2]))


def test_it_leaves_the_process_wide_random_generators_alone():
    # With tasks run eagerly training runs in the web process, where these pick quiz rounds and tally shards.
    random.seed(12345)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())

    trainer.train(TRAIN[:16], VAL[:4], small_config(epochs=1))
    unlabelled = [(source, 0) for source, _ in TRAIN[16:20]]
    self_training.self_train(TRAIN[:16], VAL[:4], unlabelled, confidence=0.5, config=small_config())

    assert random.getstate() == before[0]
    assert (np.random.get_state()[1] == before[1]).all()
    assert torch.equal(torch.get_rng_state(), before[2])


def test_it_draws_the_initial_weights_a_seed_always_gave():
    config = small_config(seed=7)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)  # how the weights were drawn before training kept to its own generators
        before = CorrosionNet(width=config.width).state_dict()

    after = trainer.build_model(config).state_dict()

    assert before.keys() == after.keys()
    assert all(torch.equal(before[key], after[key]) for key in before)


def test_it_saves_and_restores_checkpoints(tmp_path):
    config = small_config()
    model = trainer.build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = trainer.build_scheduler(optimizer, config, steps_per_epoch=5)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    scheduler.step()
    path = tmp_path / "checkpoint.pth"

    trainer.save_checkpoint(path, model, optimizer=optimizer, scheduler=scheduler, epoch=4, config=config)
    restored_optimizer = torch.optim.Adam(trainer.build_model(config).parameters(), lr=config.lr)
    restored_scheduler = trainer.build_scheduler(restored_optimizer, config, steps_per_epoch=5)
    restored, checkpoint = trainer.load_checkpoint(path, optimizer=restored_optimizer, scheduler=restored_scheduler)

    assert checkpoint["epoch"] == 4
    assert trainer.TrainConfig.from_dict(checkpoint["config"]) == config
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), restored.state_dict().values()))
    assert restored_scheduler.last_epoch == scheduler.last_epoch
    assert restored_optimizer.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()


def test_it_writes_a_checkpoint_every_epoch_when_asked(tmp_path):
    path = tmp_path / "last.pth"

    trainer.train(TRAIN[:16], VAL[:4], small_config(epochs=1), checkpoint_path=path)

    _, checkpoint = trainer.load_checkpoint(path)
    assert checkpoint["epoch"] == 1 and checkpoint["optimizer"] is not None


def test_it_resolves_the_device():
    assert trainer.resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert trainer.resolve_device("auto").type == expected
    with pytest.raises(ValueError):
        trainer.resolve_device("tpu")


def test_it_restores_the_torch_thread_count():
    before = torch.get_num_threads()

    trainer.train(TRAIN[:8], VAL[:4], small_config(epochs=1, num_threads=1))

    assert torch.get_num_threads() == before


def test_it_refuses_empty_sets():
    with pytest.raises(ValueError):
        trainer.train([], VAL, small_config())


def test_it_validates_and_keeps_the_weight_average_when_enabled():
    plain = trainer.train(TRAIN, VAL, small_config())
    averaged = trainer.train(TRAIN, VAL, small_config(ema_decay=0.9))

    model = trainer.model_from_result(averaged)
    images, labels = data.build_view_cache(VAL, small_config().views)
    cpu = torch.device("cpu")
    metrics = trainer.evaluate(model, images, labels, config=small_config(), device=cpu, normalise=data.Normaliser(cpu))

    assert metrics["val_acc"] == averaged.val_accuracy
    assert not all(torch.equal(plain.state_dict[k], averaged.state_dict[k]) for k in plain.state_dict)


def test_it_ignores_only_the_least_believable_corrosion_labels():
    sample_loss = torch.tensor([0.1, 0.9, 0.5, 3.0, float("nan")])
    labels = torch.tensor([1, 1, 1, 0, 1])

    keep = trainer.select_kept(sample_loss, labels, fraction=0.25)  # one of four

    assert keep.tolist() == [True, False, True, True, True]


def test_it_starts_ignoring_suspect_labels_after_the_warm_up_epochs():
    result = trainer.train(TRAIN, VAL, small_config(epochs=3, drop_noisy=0.2, drop_after=0.3))

    # 20 % of the 17 corrosion images trained on (3 of the 20 are held out to choose the epoch)
    assert [row["ignored"] for row in result.history] == [0, 3, 3]


def test_it_predicts_what_validation_scored():
    result = trainer.train(TRAIN, VAL, small_config(epochs=3))
    probabilities = trainer.predict_probabilities(trainer.model_from_result(result), VAL, small_config())
    labels = torch.tensor([label for _, label in VAL])
    assert probabilities.shape == (len(VAL),) and bool(((probabilities >= 0) & (probabilities <= 1)).all())
    assert ((probabilities > 0.5).long() == labels).float().mean().item() == pytest.approx(result.val_accuracy)


def test_it_trains_a_torchvision_architecture_on_whole_photo_views_with_tiles():
    config = small_config(architecture="mobilenet_v3_small", tiles=2, epochs=1)

    result = trainer.train(TRAIN, VAL, config)
    model = trainer.model_from_result(result)

    assert result.config["architecture"] == "mobilenet_v3_small" and result.config["tiles"] == 2
    assert type(model).__name__ == "TorchvisionNet"
    probabilities = trainer.predict_probabilities(model, VAL, config)
    predicted = (probabilities > 0.5).long()
    labels = torch.tensor([label for _, label in VAL])
    # Validation is scored through serving's views and pooling, so predicting the same way gives its accuracy.
    assert (predicted == labels).float().mean().item() == pytest.approx(result.val_accuracy)


def test_it_multiplies_each_images_loss_by_its_sample_weight():
    # Weight 0 on every corrosion image: the network never learns that class.
    weights = [0.0 if label else 1.0 for _, label in TRAIN]

    ignored = trainer.train(TRAIN, VAL, small_config(epochs=3), sample_weights=weights)
    plain = trainer.train(TRAIN, VAL, small_config(epochs=3), sample_weights=[1.0] * len(TRAIN))
    baseline = trainer.train(TRAIN, VAL, small_config(epochs=3))

    assert ignored.recall["corrosion"] <= 0.5 < baseline.recall["corrosion"]
    losses = [[row["train_loss"], row["select_loss"], row["val_loss"]] for row in plain.history]
    assert plain.val_accuracy == baseline.val_accuracy
    assert losses == [
        pytest.approx([row["train_loss"], row["select_loss"], row["val_loss"]]) for row in baseline.history
    ]


def test_it_refuses_a_sample_weight_count_that_does_not_match():
    with pytest.raises(ValueError, match="sample weights"):
        trainer.train(TRAIN, VAL, small_config(), sample_weights=[1.0])


def test_it_reads_checkpoints_written_before_whole_photo_views_as_centre_crops(tmp_path):
    config = small_config(view="centre")
    model = trainer.build_model(config)
    path = tmp_path / "old.pt"
    trainer.save_checkpoint(path, model, config=config)
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["config"]["view"]  # what an older checkpoint holds
    torch.save(checkpoint, path)

    restored, saved = trainer.load_checkpoint(path)

    assert "view" not in saved["config"]
    assert torch.equal(restored.head.weight, model.head.weight)
