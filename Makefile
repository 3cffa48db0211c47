# The two commands of the README, and the pieces they are made of.
#   make demo   set up a virtual environment, create the SQLite database, run the demo
#   make test   set up the virtual environment with test tools and run the whole test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# The PostgreSQL driver's extra: postgres (binary wheel) or postgres-source (built against the OS's libpq).
PG_EXTRA ?= postgres

.PHONY: demo test install install-test migrate units clean

demo: install migrate
	$(BIN)/python -m zamio.demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "zamio needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(PG_EXTRA)]'

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[$(PG_EXTRA),test]'

migrate: install
	$(BIN)/python bin/migrate

# Regenerate the systemd units from crontab.txt (a test checks they match).
units:
	$(PYTHON) -m zamio.runtime.schedule --write systemd

clean:
	rm -rf $(VENV) var *.egg-info
