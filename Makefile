# The book's entry points. `make book` and `make test` are all a reader needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.advbook-installed

# Each notebook cell may take this long in the smoke test (seconds).
CELL_TIMEOUT ?= 900

.PHONY: book test lab doctor student clean

book: $(STAMP)  ## execute every chapter at full size into build/
	$(BIN)/python -m advbook book

test: $(STAMP)  ## unit tests + every chapter in smoke mode
	ADVBOOK_SMOKE=1 ADVBOOK_OFFLINE=1 $(BIN)/python -m pytest tests chapters \
	  --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  --nbval-sanitize-with tests/sanitize.cfg

lab: $(STAMP)  ## open JupyterLab on the chapters
	$(BIN)/jupyter lab chapters

student: $(STAMP)  ## the student edition: chapters without solution cells
	$(BIN)/python -m advbook student

doctor: $(STAMP)
	$(BIN)/python -m advbook doctor

# Re-install whenever the declared dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

clean:
	rm -rf build
