# The book's entry points. `make book` and `make test` are all a reader needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.advbook-installed
# reveal.js, requirejs, jquery and MathJax for the decks (package.json).
NODE_STAMP := node_modules/.package-lock.json

# Each notebook cell may take this long in the smoke test (seconds).
CELL_TIMEOUT ?= 900

.PHONY: book slides handouts site test test-main test-swapped test-structure bench lab \
	doctor student clean

# Decks, handouts and the site are made even when a chapter fails (it shows
# its last good run, or is left out); make still fails.
book: $(STAMP) $(NODE_STAMP)  ## every chapter at full size, decks, handouts, site
	$(BIN)/python -m advbook book; book=$$?; \
	  $(BIN)/python -m advbook slides && \
	  $(BIN)/python -m advbook handouts --optional && \
	  $(BIN)/python -m advbook site && exit $$book

slides: $(STAMP) $(NODE_STAMP)  ## reveal.js decks of the executed chapters
	$(BIN)/python -m advbook slides

handouts: slides  ## a PDF per deck, printed by headless Chromium
	$(BIN)/python -m advbook handouts

# The site links the decks and handouts, so it comes after them in `book`.
site: $(STAMP) $(NODE_STAMP)  ## build/site/: the reader's book site, offline
	$(BIN)/python -m advbook site

# The chapters that run ImageNet classifiers (they call a role).
IMAGENET_CHAPTERS := $(shell grep -l -E 'default_classifier|second_classifier' chapters/[0-9]*.ipynb)
# Every notebook pass: smoke sizes, offline, nbval, the smoke report.
NBVAL := ADVBOOK_SMOKE=1 ADVBOOK_OFFLINE=1 TQDM_DISABLE=1 $(BIN)/python -m pytest \
	  -p tests.smoke_report --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=$(CELL_TIMEOUT) \
	  --nbval-sanitize-with tests/sanitize.cfg

test: test-main test-swapped test-structure  ## all three passes (what CI runs)

test-main: $(STAMP) $(NODE_STAMP)  ## unit tests + every chapter in smoke mode
	$(NBVAL) tests chapters

# The stand-ins in each other's roles: every claim must still hold.
test-swapped: $(STAMP)  ## ImageNet chapters, Lite2 default, Lite0 second
	ADVBOOK_TEST_PASS=swapped ADVBOOK_DEFAULT_CLASSIFIER=efficientnet_lite2 \
	  ADVBOOK_SECOND_CLASSIFIER=efficientnet_lite0 $(NBVAL) $(IMAGENET_CHAPTERS)

# ResNet-50 and Inception-V3 with seeded random weights: every code path of
# the book's own models runs; claims (meaningless here) are only reported.
test-structure: $(STAMP)  ## ImageNet chapters on ResNet-50 / Inception-V3
	ADVBOOK_TEST_PASS=structure ADVBOOK_WEIGHTS=random ADVBOOK_CLAIMS=report \
	  ADVBOOK_DEFAULT_CLASSIFIER=resnet50 ADVBOOK_SECOND_CLASSIFIER=inception_v3 \
	  $(NBVAL) $(IMAGENET_CHAPTERS)

# Speed comparisons (not tests): tables on screen, CSV in build/bench/.
# A quick look: make bench BENCH_ARGS="--models efficientnet_lite0 --batches 1"
BENCH_ARGS ?=
bench: $(STAMP)  ## PGD step: raw TF vs foolbox vs advbook vs ART
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.pgd_step $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.pgd_profile $(BENCH_ARGS)

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
