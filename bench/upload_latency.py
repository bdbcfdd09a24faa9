"""Upload -> verdict latency end to end, the inference worker's memory, and the serving runtime's size.

    .venv/bin/python bench/upload_latency.py                  # 200 uploads
    .venv/bin/python bench/upload_latency.py --uploads 50 --skip-size

What runs, all on this machine: gunicorn serving the app, PostgreSQL (a fresh database,
default postgres://postgres@127.0.0.1:5432/cd_bench_upload), Redis, and one Celery worker
process on the `inference` queue. A client in this process POSTs a photo over HTTP and then
polls GET /api/uploads/<id>/ every 5 ms until the verdict is there: latency is that whole
interval, as a browser would see it (less its polling interval). The model is the default
architecture (what `train` produces); weights do not change its speed, so it is exported
untrained. Photos come from ../shared/data/corrosion when present, generated otherwise.

Size: the wheels pip downloads for requirements-serving.txt (classification alone, as on
the paper's 50 MB AWS Lambda) plus the ONNX model, zip-compressed; and the same for the whole
inference worker (requirements-inference.txt). Needs PyPI; --skip-size skips it.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from benchlib import server_env, wait_for_http

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/cd_bench_upload"
DATA = ROOT.parent / "shared" / "data" / "corrosion"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--broker-url", default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/5"))
    parser.add_argument("--skip-size", action="store_true")
    parser.add_argument("--json", type=Path)
    return parser.parse_args()


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def photos(count: int) -> list[bytes]:
    if DATA.is_dir():
        files = sorted((DATA / "validation").rglob("*.jpg"))[:count]
        if files:
            return [f.read_bytes() for f in files]
    from quiz.demo_images import make_demo_image

    out = []
    for i in range(count):
        buffer = io.BytesIO()
        make_demo_image("corrosion" if i % 2 else "no_corrosion", seed=i, size=(480, 360)).save(buffer, "JPEG")
        out.append(buffer.getvalue())
    return out


def register_default_model(env: dict) -> Path:
    """Export the default network and register it as the active version (through the real service)."""
    code = """
import os, tempfile, django
django.setup()
from django.utils import timezone
from modelzoo.ml.export import export_onnx
from modelzoo.ml.trainer import TrainConfig, build_model
from modelzoo.models import TrainingRun
from modelzoo.services import model_version_promote, model_version_register
config = TrainConfig()
path = os.path.join(tempfile.mkdtemp(), "m.onnx")
export_onnx(build_model(config).eval(), path, views=config.views, architecture=config.architecture)
run = TrainingRun.objects.create(triggered_by="bench", state="running")
result = {"config": {}, "n_train": 0, "n_val": 0, "history": [], "best_epoch": 0, "epochs": 0,
          "val_accuracy": 0.0, "precision": {}, "recall": {}, "confusion": [], "wall_seconds": 0.0, "device": "cpu"}
version = model_version_register(run=run, result=result, onnx=open(path, "rb").read(), checkpoint=b"-",
                                 n_votes=0, snapshot_at=timezone.now())
model_version_promote(version_id=version.pk)
print(version.onnx.path)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="photo.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def one_upload(port: int, photo: bytes) -> tuple[float, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body, content_type = multipart(photo)
    started = time.perf_counter()
    conn.request("POST", "/api/uploads/", body=body, headers={"Content-Type": content_type})
    response = conn.getresponse()
    answer = json.loads(response.read())
    if response.status != 202:
        raise RuntimeError(f"upload refused: {response.status} {answer}")
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    while True:
        conn.request("GET", f"/api/uploads/{answer['id']}/", headers={"Cookie": cookie})
        status = json.loads(conn.getresponse().read())["status"]
        if status not in ("queued", "running"):
            conn.close()
            return time.perf_counter() - started, status
        time.sleep(0.005)


def rss_megabytes(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def runtime_size(requirements: str, model: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--only-binary=:all:",
                "-r",
                str(ROOT / requirements),
                "-d",
                tmp,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pip download failed:\n{result.stderr}")
        wheels = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
        packed = Path(tmp) / "model.zip"
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(model, "model.onnx")
        model_zipped = packed.stat().st_size
    total = sum(wheels.values()) + model_zipped
    return {
        "wheels_mb": round(sum(wheels.values()) / 1e6, 1),
        "model_zipped_mb": round(model_zipped / 1e6, 1),
        "total_mb": round(total / 1e6, 1),
        "wheels": wheels,
    }


def main() -> None:
    args = parse_args()
    recreate_database(args.database_url)
    media = Path(tempfile.mkdtemp(prefix="cd-bench-media-"))
    env = server_env(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        MEDIA_ROOT=str(media),
        UPLOAD_RATE_PER_VOTER="0",
        UPLOAD_RATE_PER_IP="0",
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    model = register_default_model(env)
    import redis

    redis.Redis.from_url(args.broker_url).flushdb()

    logs = Path(tempfile.mkdtemp(prefix="cd-bench-logs-"))
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "corrosiondetector.wsgi",
            "-b",
            f"127.0.0.1:{args.port}",
            "-w",
            "2",
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "web.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "corrosiondetector",
            "worker",
            "-Q",
            "inference",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=open(logs / "worker.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_http(args.port, "/upload/")
        pictures = photos(max(1, min(args.uploads, 344)))
        latencies, outcomes = [], []
        for i in range(args.warmup + args.uploads):
            seconds, status = one_upload(args.port, pictures[i % len(pictures)])
            if i >= args.warmup:
                latencies.append(seconds * 1000)
                outcomes.append(status)
        rss, peak = rss_megabytes(worker.pid)
        torch_loaded = "libtorch" in Path(f"/proc/{worker.pid}/maps").read_text()
    finally:
        for process in (web, worker):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)

    ordered = sorted(latencies)
    report = {
        "uploads": len(latencies),
        "done": outcomes.count("done"),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
        "worker_rss_mb": round(rss, 1),
        "worker_peak_rss_mb": round(peak, 1),
        "worker_loaded_torch": torch_loaded,
        "model_mb": round(model.stat().st_size / 1e6, 1),
    }
    if not args.skip_size:
        report["serving_runtime"] = runtime_size("requirements-serving.txt", model)
        report["inference_worker_runtime"] = runtime_size("requirements-inference.txt", model)
    print(json.dumps({k: v for k, v in report.items() if k not in ("serving_runtime", "inference_worker_runtime")}))
    for key in ("serving_runtime", "inference_worker_runtime"):
        if key in report:
            size = report[key]
            print(
                f"{key}: wheels {size['wheels_mb']} MB + model (zipped) {size['model_zipped_mb']} MB"
                f" = {size['total_mb']} MB"
            )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
