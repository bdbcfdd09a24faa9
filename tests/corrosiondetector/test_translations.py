"""Every shipped language is complete, and volunteers and uploaders see their pages in it.

The catalogue check runs `makemessages` on a copy of the project, so a string marked for translation
but missing from a shipped .po (or left empty, or fuzzy, or with a placeholder lost) fails here rather
than reaching a volunteer in English.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from conftest import unavailable
from factories import jpeg_bytes, make_image
from quiz.models import QUESTIONS

ROOT = Path(__file__).resolve().parents[2]
# The shipped languages: the locale folder of each (settings.LANGUAGES codes, as gettext spells them).
LOCALES = {"es": "es", "fr": "fr", "zh-hans": "zh_Hans"}
# What `make messages` leaves out (Makefile); .venv and other dot folders are skipped by makemessages itself.
IGNORE = ["node_modules", "staticfiles"]
COPY_IGNORE = shutil.ignore_patterns(
    ".*", "node_modules", "staticfiles", "media", "artifacts", "__pycache__", "*.pyc", "*.mo", "*.onnx", "*.pt"
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdf]|\{\w*\}")


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    translations: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str]:
        return self.context, self.msgid

    def __str__(self) -> str:
        return f"{self.context + ' | ' if self.context else ''}{self.msgid!r}"


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file (its header left out): enough of the format for makemessages' output."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, list[str]] = {}
        flags: set[str] = set()
        current = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line):
                current = match.group(1)
                fields[current] = [match.group(2)]
            else:
                fields[current].append(line)
        text = {name: "".join(ast.literal_eval(part) for part in parts) for name, parts in fields.items()}
        if not text.get("msgid"):
            continue  # the header, or a block of comments only
        translations = [text[name] for name in sorted(text) if name.startswith("msgstr")]
        entries.append(Entry(text["msgid"], text.get("msgctxt"), text.get("msgid_plural"), translations, flags))
    return entries


def shipped_catalogue(locale: str) -> Path:
    return ROOT / "locale" / locale / "LC_MESSAGES" / "django.po"


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory) -> dict[str, list[Entry]]:
    """Each shipped .po after `makemessages` on a copy of the project: what the code marks today, merged in."""
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        unavailable("gettext is not installed (apt-get install gettext)")
    copy = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(copy)  # makemessages reads the current folder and writes to LOCALE_PATHS[0]
        patch.setattr(settings, "LOCALE_PATHS", [copy / "locale"])
        locales = list(LOCALES.values())
        call_command("makemessages", locale=locales, ignore_patterns=IGNORE, no_obsolete=True, verbosity=0)
    return {locale: read_po(copy / "locale" / locale / "LC_MESSAGES" / "django.po") for locale in LOCALES.values()}


@pytest.mark.parametrize("locale", LOCALES.values())
def test_it_ships_every_marked_string_translated(fresh_catalogues, locale):
    fresh = fresh_catalogues[locale]
    shipped = {entry.key for entry in read_po(shipped_catalogue(locale))}
    assert len(fresh) > 100, "makemessages found too few strings: is the copy of the project complete?"
    missing = [str(entry) for entry in fresh if entry.key not in shipped]
    stale = sorted(str(Entry(msgid, context)) for context, msgid in shipped - {entry.key for entry in fresh})
    empty = [str(entry) for entry in fresh if entry.key in shipped and not all(entry.translations)]
    fuzzy = [str(entry) for entry in fresh if "fuzzy" in entry.flags]
    problems = {
        "not in the .po (run `make messages`, then translate)": missing,
        "in the .po but no longer in the code (run `make messages`)": stale,
        "without a translation": empty,
        "marked fuzzy (check the translation, then remove the flag)": fuzzy,
    }
    report = "\n".join(f"{what}:\n  " + "\n  ".join(items) for what, items in problems.items() if items)
    assert not report, f"locale/{locale}/LC_MESSAGES/django.po:\n{report}"


@pytest.mark.parametrize("locale", LOCALES.values())
def test_it_keeps_every_placeholder_in_the_translations(locale):
    wrong = []
    for entry in read_po(shipped_catalogue(locale)):
        wanted = sorted(PLACEHOLDER.findall(entry.plural or entry.msgid))
        for text in entry.translations:
            # A language with one plural form may leave a count out of its only form ("1 answer").
            if text and sorted(PLACEHOLDER.findall(text)) != wanted:
                wrong.append(f"{entry}: {text!r}")
    assert not wrong, f"placeholders changed in locale/{locale}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES.values())
def test_it_uses_the_plural_forms_of_each_language(locale):
    header = shipped_catalogue(locale).read_text(encoding="utf-8").split("\n\n")[0]
    forms = int(re.search(r"nplurals=(\d+)", header).group(1))
    assert forms == {"es": 2, "fr": 2, "zh_Hans": 1}[locale]
    plurals = [entry for entry in read_po(shipped_catalogue(locale)) if entry.plural]
    assert plurals and all(len(entry.translations) == forms for entry in plurals)


# --- The pages, in each language ---------------------------------------------------------------------


def translated(language: str, english: str) -> str:
    with translation.override(language):
        text = translation.gettext(english)
    assert text != english, f"no {language} translation of {english!r} (is locale/*.mo compiled? make compilemessages)"
    return text


def client_in(language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def assert_page_in(language: str, response, *headings: str) -> None:
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    for heading in headings:
        assert translated(language, heading) in html
        assert heading not in html, f"{heading!r} is still in English on the {language} page"


@pytest.fixture
def quiz_images(db):
    return [make_image(label=None) for _ in range(4)]


LANGUAGES = list(LOCALES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_quiz_in_the_chosen_language(quiz_images, language):
    response = client_in(language).get("/")
    with translation.override("en"):
        question = str(QUESTIONS[settings.QUIZ_WORDING])
    assert_page_in(language, response, question, "Report this photo", "Submit", "My uploads")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_empty_quiz_and_the_report_page_in_the_chosen_language(db, language):
    assert_page_in(language, client_in(language).get("/"), "Nothing left to label")
    image = make_image(label=None)
    assert_page_in(language, client_in(language).get(f"/quiz/report/{image.pk}/"), "What is wrong with it?")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_upload_pages_in_the_chosen_language(db, language):
    client = client_in(language)
    assert_page_in(language, client.get("/upload/"), "Check a photo for corrosion", "Share with the crowd")
    assert_page_in(language, client.get("/uploads/mine/"), "You have not uploaded any photo from this browser yet.")
    # No active model: the upload stays "no model yet", and its page needs no worker.
    result = client.post("/upload/", {"image": _named(jpeg_bytes(), "rust.jpg")}, follow=True)
    assert result.status_code == 200 and result.redirect_chain
    assert_page_in(language, result, "No model is trained yet, so there is no verdict.", "Your photo")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_slow_down_and_not_found_pages_in_the_chosen_language(db, settings, language):
    settings.QUIZ_RATE_PER_VOTER = 1
    client = client_in(language)
    client.get("/")
    slow = client.get("/")
    assert slow.status_code == 429
    assert_page_in(language, slow, "Slow down a little", "You have answered a lot of rounds very quickly.")
    missing = client.get(f"/upload/{uuid.uuid4()}/")
    assert missing.status_code == 404
    assert_page_in(language, missing, "Page not found")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_says_domain_errors_in_the_chosen_language(db, language):
    response = client_in(language).post("/upload/", {"image": _named(b"not a photo", "notes.txt")})
    assert response.status_code == 415
    assert_page_in(language, response, "The file is not a JPEG, PNG or WebP image.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_video_page_in_the_chosen_language(db, language):
    page = client_in(language).get("/video/")
    assert_page_in(language, page, "Check a video for corrosion", "Where the model sees corrosion")
    html = page.content.decode()
    strings = re.search(r'<script type="application/json" id="video-strings">(.*?)</script>', html, re.S)
    assert json.loads(strings.group(1))["choose_first"] == translated(language, "Please choose a video first.")


@pytest.mark.parametrize("language", LANGUAGES)
def test_it_shows_the_model_card_and_your_part_in_the_chosen_language(active_model, language):
    client = client_in(language)
    card = client.get("/model/")
    assert card.status_code == 200
    assert_page_in(language, card, "How good is the model?", "What it cannot do", "How often it is right")
    assert_page_in(language, card, "Red or brown paint can look like rust to the model.")
    me = client.get("/me/")
    assert_page_in(language, me, "Your part", "You have not answered any quiz questions in this browser yet.")


def _named(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_it_switches_language_with_the_switcher_and_keeps_the_page(db):
    client = Client()
    page = client.get("/upload/").content.decode()
    assert '<html lang="en">' in page and 'action="/i18n/setlang/"' in page and 'for="language-select"' in page
    response = client.post("/i18n/setlang/", {"language": "fr", "next": "/upload/"})
    assert response.status_code == 302 and response["Location"] == "/upload/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    assert_page_in("fr", client.get("/upload/"), "Check a photo for corrosion")


def test_it_follows_the_browser_language_until_one_is_chosen(db):
    response = Client().get("/upload/", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert_page_in("zh-hans", response, "Check a photo for corrosion")
    assert '<html lang="en">' in Client().get("/upload/", headers={"accept-language": "de"}).content.decode()


def test_it_renders_the_scripts_texts_in_the_page_language(db):
    html = client_in("es").get("/upload/").content.decode()
    strings = re.search(r'<script id="upload-strings" type="application/json">(.*?)</script>', html).group(1)
    assert json.loads(strings)["choose_first"] == translated("es", "Please choose a photo first.")
