# The book's entry points. `make book` and `make test` are all a reader needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.advbook-installed
# reveal.js, requirejs, jquery and MathJax for the decks (package.json).
NODE_STAMP := node_modules/.package-lock.json

# Each notebook cell may take this long in the smoke test (seconds).
CELL_TIMEOUT ?= 900

.PHONY: book slides handouts test bench lab doctor student clean

# Decks and handouts are made even when a chapter fails; make still fails.
book: $(STAMP) $(NODE_STAMP)  ## every chapter at full size, decks, handouts
	$(BIN)/python -m advbook book; book=$$?; \
	  $(BIN)/python -m advbook slides && \
	  $(BIN)/python -m advbook handouts --optional && exit $$book

slides: $(STAMP) $(NODE_STAMP)  ## reveal.js decks of the executed chapters
	$(BIN)/python -m advbook slides

handouts: slides  ## a PDF per deck, printed by headless Chromium
	$(BIN)/python -m advbook handouts

test: $(STAMP) $(NODE_STAMP)  ## unit tests + every chapter in smoke mode
	ADVBOOK_SMOKE=1 ADVBOOK_OFFLINE=1 TQDM_DISABLE=1 $(BIN)/python -m pytest tests chapters \
	  -p tests.smoke_report --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  --nbval-sanitize-with tests/sanitize.cfg

# Speed comparisons (not tests): tables on screen, CSV in build/bench/.
# A quick look: make bench BENCH_ARGS="--models efficientnet_lite0 --batches 1"
BENCH_ARGS ?=
bench: $(STAMP)  ## PGD step: raw TF vs foolbox (eager, through advbook) vs advbook vs ART
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.pgd_step $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.pgd_profile $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.foolbox_profile $(BENCH_ARGS)

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

# The pinned versions in package-lock.json; never committed, see .gitignore.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js (18 or later);" \
	  "it fetches reveal.js and MathJax for the slides" >&2; exit 1; }
	npm ci --no-audit --no-fund

clean:
	rm -rf build
