"""The launch rehearsal (`make rehearse`, deploy/rehearse.py) driven as its users would: real Chromium over
https through the real proxy (deploy/Caddyfile), gunicorn with production settings, the inference worker and
beat, on this machine's PostgreSQL and Redis. Nothing here talks to Django in-process: what passes here
works deployed.

Screenshots land in $LAUNCH_ARTIFACTS_DIR, by default artifacts/launch/, with the rehearsal's own output
(rehearse.log) and its servers' logs (logs/).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest

from conftest import free_port, unavailable

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("LAUNCH_ARTIFACTS_DIR") or ROOT / "artifacts" / "launch")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
READY_TIMEOUT = 240
QUIZ_RATE_PER_IP = 30
STAFF = ("launch-expert", "launch-test-password-1234")


class Site(NamedTuple):
    url: str
    media: Path  # the rehearsal's MEDIA_ROOT, to name files that exist there


def server_url(variable: str, scheme: str) -> str:
    """The scheme://host:port of this run's PostgreSQL or Redis (the rehearsal gets databases of its own there)."""
    url = os.environ.get(variable, "")
    if not url.startswith(scheme):
        unavailable(f"the launch rehearsal needs {variable}={scheme}://...")
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def stop(process: subprocess.Popen) -> int | None:
    """SIGTERM, as Ctrl-C would; if the rehearsal hangs, kill it (its children get SIGTERM when it dies)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None
    return process.returncode


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The rehearsal, started as `make rehearse` starts it; its URL once it printed `URL=...`."""
    postgres = server_url("DATABASE_URL", "postgres")
    redis = server_url("CELERY_BROKER_URL", "redis")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    scratch = tmp_path_factory.mktemp("rehearsal")
    env = {
        **os.environ,
        "REHEARSE_PORT": str(free_port()),
        "REHEARSE_HTTP_PORT": str(free_port()),
        "REHEARSE_DB": "corrosiondetector_launchtest",
        "REHEARSE_REDIS_DB": "11",
        "REHEARSE_POSTGRES": postgres,
        "REHEARSE_REDIS": redis,
        "REHEARSE_DIR": str(scratch),
        "REHEARSE_FRESH": "1",
        "REHEARSE_EPOCHS": "2",
        "REHEARSE_STAFF_USER": STAFF[0],
        "REHEARSE_STAFF_PASSWORD": STAFF[1],
        "REHEARSE_INFERENCE_CONCURRENCY": "1",
        "REHEARSE_READY_TIMEOUT": str(READY_TIMEOUT),
        "WEB_WORKERS": "2",
        # Quick to exhaust; two votes make a label, so two voters who disagree fill the review queue;
        # no gold or sharpening slots, so a round holds exactly the photos that still need votes.
        "QUIZ_RATE_PER_IP": str(QUIZ_RATE_PER_IP),
        "QUIZ_MIN_VOTES": "2",
        "QUIZ_GOLD_RATE": "0",
        "QUIZ_SHARPEN_RATE": "0",
    }
    for name in ("REHEARSE_IMAGES", "SEED_IMAGES_DIR", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    log_path = ARTIFACTS / "rehearse.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "rehearse.py")],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    lines: list[str] = []
    ready = threading.Event()

    def read_stdout():
        for raw in process.stdout:
            lines.append(raw.decode(errors="replace").rstrip("\n"))
            if lines[-1].startswith("URL="):
                ready.set()
        ready.set()  # stdout closed: the rehearsal is gone

    threading.Thread(target=read_stdout, daemon=True).start()
    try:
        ready.wait(READY_TIMEOUT + 30)
        urls = [line for line in lines if line.startswith("URL=")]
        if not urls:
            stop(process)
            pytest.fail(f"the rehearsal printed no URL= line: {lines}\n{log_path.read_text()[-4000:]}")
        assert len(lines) == 1 and re.fullmatch(r"URL=https://127\.0\.0\.1:\d+/", lines[0]), lines
        yield Site(urls[0].removeprefix("URL="), scratch / "media")
    finally:
        returncode = stop(process)
        if (scratch / "logs").is_dir():
            shutil.copytree(scratch / "logs", ARTIFACTS / "logs", dirs_exist_ok=True)
    assert returncode == 0, f"the rehearsal did not stop cleanly on SIGTERM: {returncode}"
    assert not lines[1:], f"stdout is only the URL line: {lines}"


@pytest.fixture(scope="module")
def browser(site):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, request):
    """Pages in fresh browser contexts (each a new visitor); a screenshot of each at the end, also on failure."""
    contexts = []

    def open_page(width: int = 390, height: int = 900):
        # The rehearsal's certificate is self-signed: the one thing a deployed site does differently.
        context = browser.new_context(viewport={"width": width, "height": height}, ignore_https_errors=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for number, context in enumerate(contexts):
        for page in context.pages:
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{number}-end.png"), full_page=True)
        context.close()


def all_images_loaded(page, selector: str = "img") -> int:
    """Scroll each image into view (they load lazily) and wait until it has decoded pixels; their count."""
    images = page.locator(selector)
    count = images.count()
    for index in range(count):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        image.evaluate(
            """img => img.complete && img.naturalWidth > 0 ? true : new Promise((resolve, reject) => {
                img.addEventListener("load", () => resolve(true));
                img.addEventListener("error", () => reject(new Error("image failed: " + img.currentSrc)));
            })"""
        )
        assert image.evaluate("img => img.naturalWidth") > 0, image.get_attribute("src")
    return count


def vote_a_round(page, url: str, *, tick: str) -> None:
    """One quiz round in the browser: tick the first, all or none of the photos, submit."""
    page.goto(url)
    assert all_images_loaded(page, "form img") == 4
    boxes = page.locator("input[name=corrosion]")
    assert boxes.count() == 4
    for index in {"first": [0], "all": range(4), "none": []}[tick]:
        boxes.nth(index).check()
    page.get_by_role("button", name="Submit").click()
    page.wait_for_selector(".message.success")


def test_it_serves_the_quiz_with_every_photo_loaded_and_takes_three_rounds(site, new_page):
    page = new_page()
    response = page.goto(site.url)
    assert response.status == 200
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    images = all_images_loaded(page)
    assert images >= 4
    page.screenshot(path=str(ARTIFACTS / "quiz.png"), full_page=True)
    for round_number in range(3):
        vote_a_round(page, site.url, tick="first")
        page.screenshot(path=str(ARTIFACTS / f"quiz-round-{round_number + 1}-voted.png"), full_page=True)
    assert "12 in total" in page.inner_text(".messages")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["cd_voter"]["secure"] and cookies["csrftoken"]["secure"]


def jpeg_photo(*, size=(800, 600)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (120, 130, 140))
    draw = ImageDraw.Draw(image)
    draw.ellipse((200, 150, 520, 420), fill=(150, 70, 20))  # a rust-coloured blotch
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def mpo_phone_photo() -> bytes:
    """A JPEG with a secondary image in its MPF index (HDR gain map, depth map), as many phones now write."""
    from PIL import Image

    primary = Image.open(io.BytesIO(jpeg_photo()))
    secondary = Image.new("L", (200, 150), 128)  # a gain-map-sized second frame
    buffer = io.BytesIO()
    primary.save(buffer, format="MPO", save_all=True, append_images=[secondary.convert("RGB")], quality=90)
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).format == "MPO" and Image.open(io.BytesIO(data)).n_frames == 2
    return data


@pytest.mark.parametrize("kind", ["jpeg", "mpo"])
def test_it_gives_an_upload_its_verdict_with_a_heatmap_and_takes_the_uploaders_correction(
    site, new_page, tmp_path, kind
):
    photo = tmp_path / f"{kind}-photo.jpg"
    photo.write_bytes(jpeg_photo() if kind == "jpeg" else mpo_phone_photo())
    page = new_page()
    page.goto(site.url + "upload/")
    page.set_input_files("#image-input", str(photo))
    page.get_by_role("button", name="Check for corrosion").click()
    page.wait_for_selector(".verdict, .message.error", timeout=60_000)
    errors = page.locator(".message.error")
    assert errors.count() == 0, errors.first.inner_text()
    assert "probability of corrosion" in page.inner_text(".verdict")
    assert all_images_loaded(page, ".heatmap img") == 1
    page.screenshot(path=str(ARTIFACTS / f"upload-{kind}-verdict.png"), full_page=True)
    page.get_by_role("button", name="No corrosion").click()
    page.wait_for_selector(".correction .message.success")


def staff_login(page, url: str, path: str) -> None:
    page.goto(url + path.lstrip("/"))
    assert "/admin/login/" in page.url  # staff only
    page.fill("#id_username", STAFF[0])
    page.fill("#id_password", STAFF[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(path) + "$"))


def test_it_lets_staff_log_in_and_shows_the_review_queues_photos(site, new_page):
    # Two visitors who disagree: two votes make a label, so the photos they split on (1 : 1) need an expert.
    vote_a_round(new_page(), site.url, tick="none")
    vote_a_round(new_page(), site.url, tick="all")
    page = new_page(1400, 1000)
    staff_login(page, site.url, "/admin/quiz/reviewitem/")
    page.wait_for_selector("#result_list")
    assert all_images_loaded(page, '#result_list img[alt$="under review"]') >= 1
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=True)


def test_it_renders_the_research_dashboard_for_staff(site, new_page):
    page = new_page(1400, 1000)
    staff_login(page, site.url, "/dashboard/")
    assert page.inner_text("h1") == "Research dashboard"
    all_images_loaded(page)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


# --- Plain HTTP clients: what the proxy serves, and whose rate-limit bucket a request lands in -------------


def https_get(url: str, path: str, *, source: str = "127.0.0.1", headers: dict | None = None):
    """GET over https from a chosen loopback address (a different client, as the proxy sees it)."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(
        parts.hostname, parts.port, source_address=(source, 0), context=context, timeout=15
    )
    try:
        connection.request("GET", path, headers={"Accept": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_it_serves_public_photos_from_the_proxy_and_nothing_else_of_the_media(site):
    status, _, body = https_get(site.url, "/api/quiz/round/", source="127.0.0.4")
    assert status == 200, body
    shown = json.loads(body)["images"][0]
    for url in (shown["url"], shown["thumbnail_url"]):
        status, headers, body = https_get(site.url, urlsplit(url).path, source="127.0.0.4")
        assert status == 200 and body[:2] == b"\xff\xd8", url
        assert headers["content-type"] == "image/jpeg"
        assert headers["x-content-type-options"] == "nosniff"
        assert "max-age=31536000" in headers["cache-control"] and "immutable" in headers["cache-control"]
    photo = urlsplit(shown["url"]).path.removeprefix("/media/")
    model_files = sorted(path.name for path in (site.media / "models").iterdir())
    assert model_files, "the rehearsal trained a first model"
    hidden = [f"/_protected/{photo}", "/media/images/", f"/media/images/{photo}.txt"]
    hidden += [f"/media/models/{name}" for name in model_files] + [f"/_protected/models/{name}" for name in model_files]
    for path in hidden:
        assert https_get(site.url, path, source="127.0.0.4")[0] == 404, path


def test_it_sends_a_private_file_through_django_to_staff_only(site):
    """The model download: Django checks who asks, the proxy sends the file (X-Accel-Redirect)."""
    assert https_get(site.url, "/api/models/1/onnx/", source="127.0.0.4")[0] in (401, 403)
    token = base64.b64encode(":".join(STAFF).encode()).decode()
    status, headers, body = https_get(
        site.url, "/api/models/1/onnx/", source="127.0.0.4", headers={"Authorization": f"Basic {token}"}
    )
    assert status == 200, body[:300]
    onnx = next((site.media / "models").glob("*.onnx"))
    assert body == onnx.read_bytes()
    assert "x-accel-redirect" not in headers
    assert headers["content-disposition"].startswith("attachment")
    assert "no-store" in headers["cache-control"]


def exhaust_quiz_bucket(url: str, source: str) -> int:
    """Quiz requests from one address until it is told 429; how many it took."""
    for count in range(1, 2 * QUIZ_RATE_PER_IP + 5):
        status, _, _ = https_get(url, "/api/quiz/round/", source=source)
        if status == 429:
            return count
        assert status == 200, status
    pytest.fail(f"{source} was never limited")


def test_it_keeps_separate_rate_limit_buckets_per_client_address_that_a_client_cannot_choose(site):
    # Buckets are per minute: start early in one so the whole check falls inside it.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    assert exhaust_quiz_bucket(site.url, "127.0.0.2") == QUIZ_RATE_PER_IP + 1
    status, _, body = https_get(site.url, "/api/quiz/round/", source="127.0.0.3")
    assert status == 200, f"another address shares the limited bucket: {status} {body[:200]!r}"
    for claimed in ("1.2.3.4", "5.6.7.8", "127.0.0.3", "1.2.3.4, 9.9.9.9"):
        status, _, _ = https_get(site.url, "/api/quiz/round/", source="127.0.0.2", headers={"X-Forwarded-For": claimed})
        assert status == 429, f"X-Forwarded-For: {claimed} moved the client to another bucket"
