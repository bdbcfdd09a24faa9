"""Create, rotate or revoke a user's API token for scripts (`Authorization: Token <key>`)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from uploads.errors import UploadError
from uploads.services import api_token_issue, api_token_revoke


class Command(BaseCommand):
    help = (
        "Print a new API token for USERNAME (only the key on stdout, shown this once). "
        "--rotate replaces the current token; --revoke deletes it."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--rotate", action="store_true", help="replace the user's token with a new one")
        action.add_argument("--revoke", action="store_true", help="delete the user's token")

    def handle(self, *args, username: str, rotate: bool, revoke: bool, **options):
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user {username!r} (create one with `manage.py createsuperuser` or the admin).")
        if revoke:
            if not api_token_revoke(user=user):
                raise CommandError(f"{username} has no API token.")
            self.stderr.write(f"The API token of {username} is revoked.")
            return
        try:
            token = api_token_issue(user=user, rotate=rotate)
        except UploadError as error:
            raise CommandError(f"{error.message} Use --rotate for a new one (the old one stops working).") from None
        # Only the key on stdout, so that a script can capture it; the rest is for a person.
        self.stdout.write(token.key)
        self.stderr.write("Keep it secret: it is shown only this once. Send it as `Authorization: Token <key>`.")
