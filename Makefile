# layersadmin: the two commands are `make demo` and `make test` (README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Embedded defaults for local runs; a real environment or .env overrides them.
export DEBUG ?= true

.PHONY: demo test lint format bench bench-small sandbox sync clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# Ports of `make demo` (the app, the sandbox) and `make sandbox`: `make demo PORT=8010
# SANDBOX_PORT=8011` when they are taken. Set here, so an environment's PORT is not picked up.
PORT = 8000
SANDBOX_PORT = 8001

demo: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --port $(PORT) --sandbox-port $(SANDBOX_PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

SCALE ?= full
bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench --scale $(SCALE)

bench-small:
	$(MAKE) bench SCALE=small

sandbox: $(VENV)/.installed
	$(BIN)/python -m sandbox --port $(SANDBOX_PORT)

sync: $(VENV)/.installed
	$(BIN)/python manage.py sync_layers

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
