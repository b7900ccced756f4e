# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-dev system-deps lint bench docs clean

run: $(VENV)/.installed
	$(VENV)/bin/chatfeedback run --port $(PORT)

test: $(VENV)/.installed-dev system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev,postgres,docs]'
	touch $(VENV)/.installed $@

# Chromium for the browser tests, nginx and PostgreSQL for the deployment tests:
# Debian's packages when we are root; otherwise Playwright's own Chromium download.
system-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  missing=""; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	elif ! command -v chromium >/dev/null; then \
	  $(VENV)/bin/playwright install chromium; \
	fi

# Both checkers run, whatever the first finds; the exit status says whether either failed.
# ruff reads the whole tree (pyproject.toml's settings), mypy the files pyproject.toml names;
# the suite runs both (tests/test_architecture.py, tests/test_api.py).
lint: $(VENV)/.installed-dev
	@status=0; \
	$(VENV)/bin/ruff check || status=1; \
	$(VENV)/bin/mypy || status=1; \
	exit $$status

# The documentation site (docs/, mkdocs.yml) into site/; a warning is an error.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

bench: $(VENV)/.installed-dev system-deps
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache build site *.egg-info
