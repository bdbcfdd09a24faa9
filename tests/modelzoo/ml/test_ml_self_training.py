import torch
from training_samples import TRAIN, VAL, small_config

from modelzoo.ml import self_training


def test_it_self_trains_a_student_on_the_photos_its_teacher_is_sure_of():
    labelled, hidden = TRAIN[:16], TRAIN[16:]
    unlabelled = [(source, 0) for source, _ in hidden]  # the truth stays out of reach
    fitted = self_training.self_train(labelled, VAL, unlabelled, confidence=0.7, config=small_config(epochs=6))
    assert 0 < len(fitted.pseudo_labels) <= len(hidden)
    right = sum(hidden[index][1] == label for index, label in fitted.pseudo_labels.items())
    assert right / len(fitted.pseudo_labels) >= 0.8
    assert fitted.student.n_train == len(labelled) + len(fitted.pseudo_labels)
    # Scored on the validation photos, not on the labelled ones it learned from.
    assert fitted.teacher_val_accuracy in {right / len(VAL) for right in range(len(VAL) + 1)}


def test_it_takes_no_teacher_label_below_the_confidence():
    unlabelled = [(source, 0) for source, _ in TRAIN[16:]]
    fitted = self_training.self_train(TRAIN[:16], VAL, unlabelled, confidence=1.0, config=small_config())
    assert fitted.pseudo_labels == {} and fitted.student.n_train == 16


def test_it_keeps_the_teachers_labels_in_the_proportions_of_peoples_labels_most_sure_first():
    probabilities = torch.tensor([0.99, 0.97, 0.95, 0.90, 0.02, 0.6, 0.15, 0.05])
    # People's labels are half and half; the teacher is sure of four "corrosion" and three "no corrosion".
    pseudo = self_training.balanced_pseudo_labels(probabilities, 0.8, [1, 0, 1, 0])
    assert pseudo == {0: 1, 1: 1, 2: 1, 4: 0, 6: 0, 7: 0}  # 0.90 is the least sure corrosion: left out
    # With a quarter corrosion among people's labels, one corrosion per three no-corrosion.
    assert self_training.balanced_pseudo_labels(probabilities, 0.8, [1, 0, 0, 0]) == {0: 1, 4: 0, 6: 0, 7: 0}


def test_a_teacher_sure_of_one_class_only_labels_nothing():
    everything_clean = torch.tensor([0.01, 0.02, 0.03, 0.1])
    assert self_training.balanced_pseudo_labels(everything_clean, 0.8, [1, 0, 0]) == {}
    assert self_training.balanced_pseudo_labels(everything_clean, 0.8, []) == {}
