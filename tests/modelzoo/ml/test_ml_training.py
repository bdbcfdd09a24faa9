import io

import pytest
import torch

from modelzoo.ml import preprocessing, training
from quiz.demo_images import make_demo_image


def _items(count: int, first_seed: int, size=(64, 48)) -> list[tuple[bytes, int]]:
    items = []
    for index in range(count):
        label = index % 2
        img = make_demo_image("corrosion" if label else "no_corrosion", seed=first_seed + index, size=size)
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        items.append((buffer.getvalue(), label))
    return items


TRAIN = _items(40, first_seed=0)
VAL = _items(20, first_seed=1000)


def _config(**overrides) -> training.TrainConfig:
    values = dict(epochs=2, batch_size=8, width=4, input_size=32, lr=3e-3, warmup_epochs=0.5, progress=False, seed=3)
    values.update(overrides)
    return training.TrainConfig(**values)


def test_it_returns_curves_and_metrics():
    rows = []

    result = training.train(TRAIN, VAL, _config(), on_epoch=rows.append)

    assert [row["epoch"] for row in rows] == [1, 2]
    assert result.history == rows
    for row in rows:
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"):
            assert isinstance(row[key], float)
    assert result.best_epoch in (1, 2) and result.epochs == 2
    assert result.val_accuracy == max(row["val_acc"] for row in rows)
    assert set(result.precision) == set(result.recall) == {"no_corrosion", "corrosion"}
    assert sum(map(sum, result.confusion)) == len(VAL) == result.n_val
    assert result.n_train == len(TRAIN)
    assert result.device == "cpu"
    assert result.wall_seconds > 0
    assert "state_dict" not in result.summary()


def test_it_keeps_the_weights_of_the_best_validation_epoch():
    result = training.train(TRAIN, VAL, _config(epochs=3))

    model = training.model_from_result(result)
    images, labels = training.build_cache(VAL, 32)
    metrics = training.evaluate(
        model,
        images,
        labels,
        training.TrainConfig.from_dict(result.config),
        torch.device("cpu"),
        training.Normaliser(torch.device("cpu")),
    )

    assert metrics["val_acc"] == result.val_accuracy
    assert metrics["val_loss"] == pytest.approx(result.val_loss, abs=1e-5)
    assert metrics["confusion"] == result.confusion


def test_it_gives_identical_metrics_for_the_same_seed():
    first = training.train(TRAIN, VAL, _config())
    second = training.train(TRAIN, VAL, _config())
    other = training.train(TRAIN, VAL, _config(seed=4))

    def curves(result):
        return [(r["train_loss"], r["val_loss"], r["val_acc"]) for r in result.history]

    assert curves(first) == curves(second)
    assert all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    assert curves(first) != curves(other)


def test_it_learns_the_easy_synthetic_labels():
    result = training.train(TRAIN, VAL, _config(epochs=6))

    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.val_accuracy >= 0.85


def test_it_validates_on_the_serving_transform():
    # Validation inputs must equal what serving feeds the ONNX model.
    images, _ = training.build_cache(VAL[:2], 32)
    batch = training.Normaliser(torch.device("cpu"))(training.centre_crop(images, 32))

    served = preprocessing.to_model_batch([preprocessing.load_rgb(src) for src, _ in VAL[:2]], 32)

    assert torch.allclose(batch, torch.from_numpy(served), atol=1e-6)


def test_it_augments_in_batch_within_the_cached_square():
    images = torch.randint(0, 256, (5, 3, 36, 36), dtype=torch.uint8)

    out = training.augment_batch(images, 32, torch.Generator().manual_seed(0))

    assert out.shape == (5, 3, 32, 32) and out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 255


def test_it_weights_classes_by_inverse_frequency():
    weights = training.class_weights(torch.tensor([0, 0, 0, 1]))

    assert torch.allclose(weights, torch.tensor([4 / 6, 4 / 2]))


def test_it_saves_and_restores_checkpoints(tmp_path):
    config = _config()
    model = training.build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = training.build_scheduler(optimizer, config, steps_per_epoch=5)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    optimizer.step()
    scheduler.step()
    path = tmp_path / "checkpoint.pth"

    training.save_checkpoint(path, model, optimizer, scheduler, epoch=4, config=config)
    restored_optimizer = torch.optim.Adam(training.build_model(config).parameters(), lr=config.lr)
    restored_scheduler = training.build_scheduler(restored_optimizer, config, steps_per_epoch=5)
    restored, checkpoint = training.load_checkpoint(path, restored_optimizer, restored_scheduler)

    assert checkpoint["epoch"] == 4
    assert training.TrainConfig.from_dict(checkpoint["config"]) == config
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), restored.state_dict().values()))
    assert restored_scheduler.last_epoch == scheduler.last_epoch
    assert restored_optimizer.state_dict()["state"].keys() == optimizer.state_dict()["state"].keys()


def test_it_writes_a_checkpoint_every_epoch_when_asked(tmp_path):
    path = tmp_path / "last.pth"

    training.train(TRAIN[:16], VAL[:4], _config(epochs=1), checkpoint_path=path)

    _, checkpoint = training.load_checkpoint(path)
    assert checkpoint["epoch"] == 1 and checkpoint["optimizer"] is not None


def test_it_resolves_the_device():
    assert training.resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert training.resolve_device("auto").type == expected
    with pytest.raises(ValueError):
        training.resolve_device("tpu")


def test_it_restores_the_torch_thread_count():
    before = torch.get_num_threads()

    training.train(TRAIN[:8], VAL[:4], _config(epochs=1, num_threads=1))

    assert torch.get_num_threads() == before


def test_it_refuses_empty_sets():
    with pytest.raises(ValueError):
        training.train([], VAL, _config())


def test_it_validates_and_keeps_the_weight_average_when_enabled():
    plain = training.train(TRAIN, VAL, _config())
    averaged = training.train(TRAIN, VAL, _config(ema_decay=0.9))

    model = training.model_from_result(averaged)
    images, labels = training.build_cache(VAL, 32)
    cpu = torch.device("cpu")
    metrics = training.evaluate(model, images, labels, _config(), cpu, training.Normaliser(cpu))

    assert metrics["val_acc"] == averaged.val_accuracy
    assert not all(torch.equal(plain.state_dict[k], averaged.state_dict[k]) for k in plain.state_dict)


def test_it_ignores_only_the_least_believable_corrosion_labels():
    sample_loss = torch.tensor([0.1, 0.9, 0.5, 3.0, float("nan")])
    labels = torch.tensor([1, 1, 1, 0, 1])

    keep = training.select_kept(sample_loss, labels, fraction=0.25)  # one of four

    assert keep.tolist() == [True, False, True, True, True]


def test_it_starts_ignoring_suspect_labels_after_the_warm_up_epochs():
    result = training.train(TRAIN, VAL, _config(epochs=3, drop_noisy=0.2, drop_after=0.3))

    assert [row["ignored"] for row in result.history] == [0, 4, 4]  # 20 % of the 20 corrosion images


def test_it_predicts_what_validation_scored():
    result = training.train(TRAIN, VAL, _config(epochs=3))
    probabilities = training.predict_probabilities(training.model_from_result(result), VAL, _config())
    labels = torch.tensor([label for _, label in VAL])
    assert probabilities.shape == (len(VAL),) and bool(((probabilities >= 0) & (probabilities <= 1)).all())
    assert ((probabilities > 0.5).long() == labels).float().mean().item() == pytest.approx(result.val_accuracy)


def test_it_self_trains_a_student_on_the_photos_its_teacher_is_sure_of():
    labelled, hidden = TRAIN[:16], TRAIN[16:]
    unlabelled = [(source, 0) for source, _ in hidden]  # the truth stays out of reach
    fitted = training.self_train(labelled, VAL, unlabelled, confidence=0.7, config=_config(epochs=6))
    assert 0 < len(fitted.pseudo_labels) <= len(hidden)
    right = sum(hidden[index][1] == label for index, label in fitted.pseudo_labels.items())
    assert right / len(fitted.pseudo_labels) >= 0.8
    assert fitted.student.n_train == len(labelled) + len(fitted.pseudo_labels)
    assert 0 <= fitted.teacher_val_accuracy <= 1


def test_it_takes_no_teacher_label_below_the_confidence():
    fitted = training.self_train(TRAIN[:16], VAL, [(s, 0) for s, _ in TRAIN[16:]], confidence=1.0, config=_config())
    assert fitted.pseudo_labels == {} and fitted.student.n_train == 16


def test_it_keeps_the_teachers_labels_in_the_proportions_of_peoples_labels_most_sure_first():
    probabilities = torch.tensor([0.99, 0.97, 0.95, 0.90, 0.02, 0.6, 0.15, 0.05])
    # People's labels are half and half; the teacher is sure of four "corrosion" and three "no corrosion".
    pseudo = training.balanced_pseudo_labels(probabilities, 0.8, [1, 0, 1, 0])
    assert pseudo == {0: 1, 1: 1, 2: 1, 4: 0, 6: 0, 7: 0}  # 0.90 is the least sure corrosion: left out
    # With a quarter corrosion among people's labels, one corrosion per three no-corrosion.
    assert training.balanced_pseudo_labels(probabilities, 0.8, [1, 0, 0, 0]) == {0: 1, 4: 0, 6: 0, 7: 0}


def test_a_teacher_sure_of_one_class_only_labels_nothing():
    everything_clean = torch.tensor([0.01, 0.02, 0.03, 0.1])
    assert training.balanced_pseudo_labels(everything_clean, 0.8, [1, 0, 0]) == {}
    assert training.balanced_pseudo_labels(everything_clean, 0.8, []) == {}
