# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install lint bench-quiz clean worker-inference worker-training worker-video beat rehearse \
	messages compilemessages screenshots

$(STAMP): requirements.txt requirements-dev.txt requirements-inference.txt requirements-serving.txt requirements-simulation.txt requirements-video.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# axe-core (package.json) for the browser tests' accessibility checks, where Node.js is installed.
install: $(STAMP) node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the browser tests' accessibility checks (axe-core) will not run"; fi

# Translations (docs/translations.md): the .po files are the source, committed; the .mo files are built
# from them here (gettext's msgfmt) and ignored by git.
LOCALES := es fr zh_Hans
MO_FILES := $(LOCALES:%=locale/%/LC_MESSAGES/django.mo)

compilemessages: $(MO_FILES)

# Without gettext the site still runs, in English only (and the translation tests fail, saying why).
locale/%/LC_MESSAGES/django.mo: locale/%/LC_MESSAGES/django.po
	@if command -v msgfmt >/dev/null 2>&1; then msgfmt --check -o $@ $<; \
	else echo "msgfmt not found (apt-get install gettext): $@ not built, pages stay in English" >&2; fi

# After marking new strings: adds them to every .po (then translate them and run `make test`).
messages: install
	$(BIN)/python manage.py makemessages --all --no-obsolete --ignore=node_modules --ignore=staticfiles

# SQLite and in-process tasks unless DATABASE_URL / CELERY_BROKER_URL say otherwise.
run: install compilemessages
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_images
	# A short first model so a fresh site gives verdicts at once (a faster learning rate than the paper's).
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py train --if-no-model --epochs $${FIRST_MODEL_EPOCHS:-8} --lr 0.002
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The production stack on this machine, without Docker: Caddy (TLS, deploy/Caddyfile), gunicorn with
# production settings, the inference worker and beat on the local PostgreSQL and Redis (deploy/rehearse.py).
rehearse: install compilemessages
	$(BIN)/python deploy/rehearse.py

test: install compilemessages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The Spanish screenshots of the quiz, /model/ and /me/ in artifacts/screenshots/ (committed).
screenshots: install compilemessages
	E2E_SCREENSHOTS_DIR=artifacts/screenshots $(BIN)/python -m pytest -q tests/e2e/test_languages.py -k screenshot

lint: install
	$(BIN)/ruff check .

bench-quiz: install
	$(BIN)/python bench/quiz_scale.py

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles node_modules $(MO_FILES)

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
