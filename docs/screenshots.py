"""Screenshots in real headless Chromium, for the README: the quiz on a phone, the research console.

    .venv/bin/python docs/screenshots.py   # writes docs/img/quiz.png, docs/review-queue.png, docs/dashboard.png

It builds a throwaway site (SQLite and media in a temp folder), seeds the demo images, casts
votes that leave some photos controversial, starts the development server and logs in as an
admin through the real login form.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT = 8731


def site_env(workdir: Path) -> dict:
    return {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "corrosiondetector.settings.base",
    }


def prepare(env: dict) -> None:
    manage = [sys.executable, "manage.py"]
    subprocess.run(manage + ["migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(manage + ["seed_images"], cwd=ROOT, env=env, check=True, capture_output=True)
    script = """
import random, uuid, django
django.setup()
from django.contrib.auth.models import User
from quiz.models import Image, Split
from quiz.rounds import round_token_make
from quiz.services.votes import vote_cast, voter_set_expertise
User.objects.create_superuser("admin", "admin@example.com", "screenshot-only")
rng = random.Random(3)
images = list(Image.objects.filter(split=Split.TRAIN))
for n in range(40):
    key = uuid.uuid4()
    voter_set_expertise(voter_key=key, expertise=rng.choice(["none", "none", "some", "professional"]))
    batch = rng.sample(images, 8)
    token = round_token_make(voter_key=key, image_ids=[i.id for i in batch])
    # Half the photos split the crowd, the rest are clear.
    ticked = [i.id for i in batch if rng.random() < (0.5 if i.id % 2 else 0.9)]
    vote_cast(voter_key=key, round_token=token, corrosion_ids=ticked)
# A model history like the paper's (66% at launch to 93% at 2,539 votes), for the dashboard.
from datetime import timedelta
from django.utils import timezone
from modelzoo.models import TrainingRun
from modelzoo.services import model_version_register
start = timezone.now() - timedelta(days=37)
for n, (votes, accuracy) in enumerate([(0, 0.66), (400, 0.78), (1100, 0.86), (1800, 0.9), (2539, 0.93)], 1):
    run = TrainingRun.objects.create(triggered_by="screenshot", state="running")
    result = {"config": {}, "n_train": 600 + votes // 5, "n_val": 344, "history": [], "best_epoch": 1, "epochs": 1,
              "val_accuracy": accuracy, "precision": {}, "recall": {}, "confusion": [], "wall_seconds": 1.0,
              "device": "cpu"}
    version = model_version_register(run=run, result=result, onnx=b"-", checkpoint=b"-", n_votes=votes,
                                     snapshot_at=timezone.now())
    type(version).objects.filter(pk=version.pk).update(created_at=start + timedelta(days=n * 7))
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env={**env, "QUIZ_ROUND_SIZE": "8"}, check=True)


def wait_for(url: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="cd-shots-"))
    env = site_env(workdir)
    prepare(env)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        wait_for(base + "/admin/login/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            # A phone-sized viewport: the quiz is phone-first, and most volunteers arrive on one.
            phone = browser.new_page(viewport={"width": 412, "height": 900})
            phone.goto(base + "/")
            phone.screenshot(path=str(ROOT / "docs" / "img" / "quiz.png"), full_page=False)
            phone.close()
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/admin/login/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "screenshot-only")
            page.click("input[type=submit]")
            page.goto(base + "/admin/quiz/reviewitem/")
            page.screenshot(path=str(ROOT / "docs" / "review-queue.png"), full_page=False)
            response = page.goto(base + "/dashboard/")
            if response is not None and response.ok:
                page.set_viewport_size({"width": 900, "height": 900})
                page.screenshot(path=str(ROOT / "docs" / "dashboard.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    shots = [ROOT / "docs" / "img" / "quiz.png", ROOT / "docs" / "review-queue.png", ROOT / "docs" / "dashboard.png"]
    print("wrote", *(str(shot.relative_to(ROOT)) for shot in shots if shot.exists()))


if __name__ == "__main__":
    random.seed(0)
    main()
