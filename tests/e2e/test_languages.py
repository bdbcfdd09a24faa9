"""The site in two more languages, switched with the switcher in real Chromium, and checked by axe in each.

`make screenshots` runs the screenshot test with E2E_SCREENSHOTS_DIR=artifacts/screenshots: the
Spanish pages committed for people to see (otherwise they land beside the other test artifacts).
"""

import os
import re
from pathlib import Path

import pytest
from e2e.accessibility import assert_no_serious_axe_violations
from e2e.conftest import ARTIFACTS, model_history

from factories import jpeg_bytes, make_image
from quiz.models import Vote

pytestmark = pytest.mark.integration
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS_DIR") or ARTIFACTS)


def switch_language(page, label: str, language: str, button: str) -> None:
    """Choose `language` with the footer's switcher (its label and button in the page's current language)."""
    page.get_by_label(label).select_option(language)
    page.get_by_role("button", name=button).click()
    page.wait_for_selector(f'html[lang="{language}"]')


def test_it_takes_a_quiz_round_in_spanish_then_switches_to_french(phone, live_server, transactional_db):
    for _ in range(8):
        make_image(label=None)
    phone.goto(live_server.url + "/")
    assert phone.locator("html").get_attribute("lang") == "en"
    switch_language(phone, "Language", "es", "Change language")
    assert phone.url == live_server.url + "/"  # the switcher comes back to the page it was used on
    assert phone.inner_text("h1") == "Selecciona las imágenes en las que veas cualquier signo de corrosión."
    assert phone.get_by_label("Idioma").input_value() == "es"
    assert_no_serious_axe_violations(phone)
    phone.locator("input[name=corrosion]").first.check()
    phone.get_by_role("button", name="Enviar").click()
    phone.wait_for_selector(".message.success")
    assert phone.inner_text(".messages") == "¡Gracias! Se han guardado 4 respuestas (4 en total)."
    assert phone.inner_text(".count") == "Has dado 4 respuestas."
    assert Vote.objects.count() == 4

    switch_language(phone, "Idioma", "fr", "Cambiar idioma")
    assert phone.inner_text("h1") == "Sélectionnez les images sur lesquelles vous voyez des signes de corrosion."
    assert phone.get_by_role("link", name="Signaler cette photo 1").is_visible()
    assert_no_serious_axe_violations(phone)
    # The report dialog's texts come from the page too (quiz.js's strings).
    phone.get_by_role("link", name="Signaler cette photo 1").click()
    dialog = phone.get_by_role("dialog", name="Signaler cette photo")
    dialog.get_by_role("radio", name="Hors sujet").check()
    dialog.get_by_role("button", name="Envoyer le signalement").click()
    assert phone.wait_for_selector(".report-done").inner_text() == "Signalée — merci."


def test_it_uploads_a_photo_in_french_and_in_chinese(phone, live_server, transactional_db, active_model, tmp_path):
    photo = tmp_path / "rusty.jpg"
    photo.write_bytes(jpeg_bytes(size=(400, 300)))
    phone.goto(live_server.url + "/upload/")
    switch_language(phone, "Language", "fr", "Change language")
    assert phone.inner_text("h1") == "Rechercher de la corrosion sur une photo"
    phone.set_input_files("#image-input", [str(photo), str(photo)])
    assert phone.inner_text(".dropzone-text") == "Photos choisies : 2"
    phone.get_by_role("button", name="Rechercher la corrosion").click()
    phone.wait_for_function("document.querySelectorAll('.upload-result .verdict').length === 2", timeout=30_000)
    verdict = phone.locator(".upload-result .verdict").first.inner_text()
    # The script's texts are French, and so is the number (a decimal comma).
    assert re.fullmatch(r"(Corrosion|Pas de corrosion) — probabilité de corrosion [01],\d\d \(modèle v1\)", verdict)
    assert_no_serious_axe_violations(phone)

    switch_language(phone, "Langue", "zh-hans", "Changer de langue")
    assert phone.inner_text("h1") == "检测照片中的腐蚀"
    phone.get_by_role("link", name="我的上传").first.click()
    phone.wait_for_selector(".my-upload")
    assert phone.inner_text("h1") == "我的上传"
    assert_no_serious_axe_violations(phone)


def test_it_takes_the_spanish_screenshots(phone, live_server, transactional_db):
    """The quiz, the model card and a volunteer's own page in Spanish, checked by axe, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    model_history()
    for _ in range(8):
        make_image(label=None)
    phone.goto(live_server.url + "/")
    switch_language(phone, "Language", "es", "Change language")
    phone.locator("input[name=corrosion]").nth(1).check()
    phone.screenshot(path=str(SCREENSHOTS / "quiz-es.png"), full_page=True)
    phone.get_by_role("button", name="Enviar").click()
    phone.wait_for_selector(".message.success")

    phone.get_by_role("link", name="El modelo").first.click()
    assert phone.inner_text("h1") == "¿Cuán bueno es el modelo?"
    disclaimer = "Una ayuda para la detección previa, no un sustituto de una inspección."
    assert phone.get_by_text(disclaimer).first.is_visible()
    assert phone.locator(".card-accuracy").inner_text() == "93,7 %"  # the decimal comma
    assert_no_serious_axe_violations(phone)
    phone.screenshot(path=str(SCREENSHOTS / "model-es.png"), full_page=True)

    phone.get_by_role("link", name="Tu aportación").first.click()
    assert phone.inner_text("h1") == "Tu aportación"
    assert phone.locator(".me-votes").inner_text() == "4"
    assert_no_serious_axe_violations(phone)
    phone.screenshot(path=str(SCREENSHOTS / "me-es.png"), full_page=True)
