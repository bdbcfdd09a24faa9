import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def api_token(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice")


def test_it_prints_only_the_new_key_on_stdout(alice):
    key, message = api_token("alice")
    assert key == Token.objects.get(user=alice).key and len(key) == 40
    assert "only this once" in message and key not in message


def test_it_never_shows_an_existing_key_again(alice):
    key, _ = api_token("alice")
    with pytest.raises(CommandError, match="already has an API token.*--rotate"):
        api_token("alice")
    assert Token.objects.get(user=alice).key == key


def test_it_rotates_a_key_so_the_old_one_stops_working(alice, api_client):
    old, _ = api_token("alice")
    new, _ = api_token("alice", "--rotate")
    assert new != old and Token.objects.get(user=alice).key == new
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/uploads/00000000-0000-0000-0000-000000000000/").status_code == 401


def test_it_revokes_a_key(alice):
    api_token("alice")
    key, message = api_token("alice", "--revoke")
    assert key == "" and "revoked" in message
    assert not Token.objects.filter(user=alice).exists()
    with pytest.raises(CommandError, match="has no API token"):
        api_token("alice", "--revoke")


def test_it_refuses_an_unknown_user_and_two_actions_at_once(alice):
    with pytest.raises(CommandError, match="No user 'mallory'"):
        api_token("mallory")
    with pytest.raises(CommandError):
        api_token("alice", "--rotate", "--revoke")
    assert not Token.objects.exists()


def test_it_lists_tokens_in_the_admin(alice, admin_client):
    api_token("alice")
    page = admin_client.get("/admin/authtoken/tokenproxy/")
    assert page.status_code == 200 and "alice" in page.content.decode()
