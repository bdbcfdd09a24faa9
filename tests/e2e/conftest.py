"""Real Chromium (Debian's, never a downloaded one) for the browser tests, on a phone's and a desktop's screen.

Screenshots land in $E2E_ARTIFACTS_DIR, by default artifacts/e2e/ (ignored by git): the page as each
test left it (also when it failed).
"""

import os
import shutil
from pathlib import Path

import pytest

from conftest import unavailable
from factories import make_model_version

ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS_DIR") or Path(__file__).resolve().parents[2] / "artifacts" / "e2e")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API keeps an event loop running in this thread; the ORM calls of
    # the tests (and the database teardown) are still plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def phone(browser, request):
    context = browser.new_context(viewport={"width": 390, "height": 900})
    page = context.new_page()
    yield page
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    context.close()


@pytest.fixture
def desktop(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-end.png"), full_page=True)
    context.close()


def model_history() -> None:
    """Three versions, the last in service with everything the model card shows (provenance, confusion, calibration)."""
    from modelzoo.models import ModelVersion

    for number, votes in ((1, 100), (2, 300)):
        make_model_version(
            version=number, val_accuracy=1 - 0.5 * votes**-0.3, status=ModelVersion.Status.RETIRED, n_votes=votes
        )
    make_model_version(
        version=3,
        val_accuracy=1 - 0.5 * 1000**-0.3,
        status=ModelVersion.Status.ACTIVE,
        n_votes=1000,
        train_provenance={"expert": 7, "crowd": 120, "imported": 40, "model": 13},
        confusion=[[40, 5], [3, 52]],
        n_val_images=100,
        ece=0.081,
        ece_calibrated=0.023,
        temperature=1.7,
    )
