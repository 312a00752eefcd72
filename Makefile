# The two commands a newcomer needs: `make run` and `make test`. Everything else helps.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint messages demo bench clean-var

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## make run: install, migrate, load demo data into an empty database, then serve
## http://127.0.0.1:8000 with a Celery worker and beat; Ctrl-C stops everything.
run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py load_demo --if-empty
	DEBUG=$${DEBUG:-true} bash scripts/run-dev.sh

## make test: the whole suite (browser and real-worker tests included when Chromium
## and a broker are available; CI requires them).
test: $(STAMP)
	$(BIN)/python -m pytest

## make test-fast: the suite without the browser tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make messages: refresh the Chinese catalogue after changing strings, then translate
## the new entries in locale/zh_Hans/LC_MESSAGES/django.po and run it again to compile.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=staticfiles --ignore=node_modules
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

demo: $(STAMP)
	$(BIN)/python manage.py load_demo

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/metrics.py

clean-var:
	rm -rf var/broker var/celerybeat-schedule*
