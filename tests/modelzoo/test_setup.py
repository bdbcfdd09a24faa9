import pytest
from django.contrib.auth.models import Group
from django_celery_beat.models import PeriodicTask

from corrosiondetector.celery import app
from modelzoo.setup import RESEARCHERS, SCHEDULE_NAME, ensure_defaults

pytestmark = pytest.mark.django_db


def test_it_creates_the_researchers_group_with_the_trigger_permission():
    group = Group.objects.get(name=RESEARCHERS)
    assert group.permissions.filter(codename="trigger_training").exists()


def test_it_schedules_the_retrain_check_once_and_keeps_admin_edits():
    task = PeriodicTask.objects.get(name=SCHEDULE_NAME)
    assert task.task == "modelzoo.tasks.retrain_if_enough_labels"
    task.enabled = False
    task.save()
    ensure_defaults()
    assert PeriodicTask.objects.filter(name=SCHEDULE_NAME).count() == 1
    assert PeriodicTask.objects.get(name=SCHEDULE_NAME).enabled is False


def test_it_routes_training_to_the_training_queue_and_the_check_to_default():
    router = app.amqp.router
    assert router.route({}, "modelzoo.tasks.training_run_execute_task")["queue"].name == "training"
    assert router.route({}, "modelzoo.tasks.retrain_if_enough_labels")["queue"].name == "default"
