# Maillage: `make run` serves the demo, `make test` runs the whole suite. Nothing asks a question.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := maillage.settings

.PHONY: run test setup system-tools lint bench messages openapi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install whenever the pinned dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json
	command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-tools:
	command -v msgfmt >/dev/null || { apt-get update -qq && apt-get install -y -qq gettext; }
	ldconfig -p | grep -q libpangoft2-1.0 && fc-list | grep -q . || \
		{ apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }

setup: $(VENV)/.installed node_modules/.installed system-tools
	$(BIN)/maillage compilemessages --ignore=.venv --ignore=node_modules -v 0
	$(BIN)/maillage collectstatic --noinput -v 0
	$(BIN)/maillage migrate --noinput -v 0

run: setup
	$(BIN)/maillage load_demo
	$(BIN)/gunicorn maillage.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --threads 4 \
		--access-logfile - --error-logfile -

test: setup
	command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/maillage makemigrations --check --dry-run -v 0
	$(BIN)/maillage openapi --check
	$(BIN)/pytest

lint:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages:
	cd src/maillage && ../../$(BIN)/maillage makemessages -l fr -l es -l en -l ca --no-location --no-obsolete \
		--ignore=*/migrations/* && ../../$(BIN)/maillage makemessages -d djangojs -l fr -l es -l en -l ca --no-location --no-obsolete

# Regenerate docs/openapi.json after changing the API (`make test` checks it is current).
openapi: $(VENV)/.installed
	$(BIN)/maillage openapi

bench: setup
	$(BIN)/python bench/directory.py
	$(BIN)/python bench/bookings.py
	$(BIN)/python bench/agenda.py
	$(BIN)/python bench/presence.py
	$(BIN)/python bench/community.py
	$(BIN)/python bench/impact.py

clean:
	rm -rf $(VENV) node_modules var
