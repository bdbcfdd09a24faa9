# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint bench-quiz clean worker-inference worker-training worker-video beat rehearse

$(STAMP): requirements.txt requirements-dev.txt requirements-inference.txt requirements-serving.txt requirements-simulation.txt requirements-video.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

# SQLite and in-process tasks unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
run: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_images
	# A short first model so a fresh site gives verdicts at once (a faster learning rate than the paper's).
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py train --if-no-model --epochs $${FIRST_MODEL_EPOCHS:-8} --lr 0.002
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production stack on this machine, without Docker: Caddy (TLS, deploy/Caddyfile), gunicorn with
# production settings, the inference worker and beat on the local PostgreSQL and Redis (deploy/rehearse.py).
rehearse: install
	$(BIN)/python deploy/rehearse.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench-quiz: install
	$(BIN)/python bench/quiz_scale.py

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles

# With CELERY_BROKER_URL=redis://... set, run these beside `make run` (each in its own terminal).
worker-inference: install
	$(BIN)/celery -A corrosiondetector worker -Q inference --concurrency 2 --loglevel INFO

# Videos (drone footage): decoding in a child process per clip, so one clip at a time.
worker-video: install
	$(BIN)/celery -A corrosiondetector worker -Q video --concurrency 1 --loglevel INFO

worker-training: install
	$(BIN)/celery -A corrosiondetector worker -Q training,default --concurrency 1 --loglevel INFO

beat: install
	$(BIN)/celery -A corrosiondetector beat --loglevel INFO
