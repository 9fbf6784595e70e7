# The book's entry points. `make book` and `make test` are all a reader needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.advbook-installed
# Exact versions of every Python package the venv gets; `make lock` rewrites
# it from pyproject.toml (whose lower bounds stay loose for library users).
# Empty (make lab LOCK=) installs the newest versions within those bounds,
# for a Python or platform the lock cannot serve.
LOCK   ?= requirements-lock.txt
# reveal.js, requirejs, jquery and MathJax for the decks (package.json).
NODE_STAMP := node_modules/.package-lock.json

# Each notebook cell may take this long in the smoke test (seconds).
CELL_TIMEOUT ?= 900

.PHONY: book slides handouts site test test-main test-python test-swapped test-structure test-wheel \
	bench lab lab-student doctor student lock clean

# Decks, handouts and the site are made even when a chapter fails (it shows
# its last good run, or is left out); make still fails.
book: $(STAMP) $(NODE_STAMP)  ## every chapter at full size, decks, handouts, site
	$(BIN)/python -m advbook book; book=$$?; \
	  $(BIN)/python -m advbook slides && \
	  $(BIN)/python -m advbook handouts --optional $(HANDOUT_ARGS) && \
	  $(BIN)/python -m advbook site && exit $$book

slides: $(STAMP) $(NODE_STAMP)  ## reveal.js decks of the executed chapters
	$(BIN)/python -m advbook slides

# Slides to a handout page (1, 2 or 4) and, when not empty, speaker notes
# beside each slide: make handouts HANDOUT_PER_PAGE=4 HANDOUT_NOTES=1
HANDOUT_PER_PAGE ?= 1
HANDOUT_NOTES    ?=
HANDOUT_ARGS = --per-page $(HANDOUT_PER_PAGE) $(if $(HANDOUT_NOTES),--notes)

handouts: slides  ## a PDF per deck, printed by headless Chromium
	$(BIN)/python -m advbook handouts $(HANDOUT_ARGS)

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

test: test-main test-swapped test-structure test-wheel  ## three passes + the wheel (what CI runs)

test-main: $(STAMP) $(NODE_STAMP)  ## unit tests + every chapter in smoke mode
	$(NBVAL) tests chapters

# For readers without Node.js: the same, less the slide tests (CI runs them).
test-python: $(STAMP)  ## test-main without Node.js: no slide tests
	$(NBVAL) tests chapters --ignore=tests/test_slides.py

# The install a hosted notebook service makes (`pip install git+...`): the
# wheel, not the editable checkout, must carry everything chapter 0 loads.
test-wheel:  ## build the wheel, install it in a fresh venv, load photos
	PYTHON=$(PYTHON) .ci/wheel-check

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
bench: $(STAMP)  ## PGD step: raw TF vs foolbox (eager, through advbook) vs advbook vs ART
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.pgd_step $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.pgd_profile $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.foolbox_profile $(BENCH_ARGS)

# Where JupyterLab listens. In a container or on a remote machine, use
# LAB_IP=0.0.0.0 and publish or forward LAB_PORT.
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
# Jupyter refuses to start as root without --allow-root, and containers
# often run as root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
LAB := $(BIN)/jupyter lab --ip=$(LAB_IP) --port=$(LAB_PORT) $(LAB_ROOT)
define lab_hint
	@echo "JupyterLab on $(1): open the http://...:PORT/lab?token=... address it"
	@echo "prints below (the port is $(LAB_PORT) unless busy; Ctrl-C stops it)."
	@echo "In a container or over ssh: make $(2) LAB_IP=0.0.0.0, then publish the"
	@echo "port (docker run -p $(LAB_PORT):$(LAB_PORT)) or forward it"
	@echo "(ssh -L $(LAB_PORT):localhost:$(LAB_PORT)). Other port: make $(2) LAB_PORT=8890."
endef

lab: $(STAMP)  ## open JupyterLab on the chapters (the reader's edition)
	$(call lab_hint,chapters/,lab)
	$(LAB) chapters

student: $(STAMP)  ## the student edition: chapters without solution cells
	$(BIN)/python -m advbook student

# The student edition goes where advbook writes it (ADVBOOK_BUILD_DIR/student).
lab-student: student  ## open JupyterLab on the student edition
	$(call lab_hint,the student edition,lab-student)
	$(LAB) "$${ADVBOOK_BUILD_DIR:-build}/student"

doctor: $(STAMP)
	$(BIN)/python -m advbook doctor

# Re-install whenever the declared dependencies or the lock change: first
# the locked versions, then advbook itself without letting pip pick others.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(LOCK),$(BIN)/python -m pip install --quiet -r $(LOCK))
	$(BIN)/python -m pip install --quiet -e . $(if $(LOCK),--no-deps)
	touch $(STAMP)

# uv, not pip-tools: `uv pip compile --universal` writes one lock with
# environment markers that pip reads on Linux, macOS and Windows alike, and
# `--fork-strategy fewest` keeps one version of each package for every
# Python from 3.11 up, so what CI tests (Linux x86_64, Python 3.11) is what
# everyone gets. pip-compile resolves only for the interpreter running it.
# uv itself is pinned so that the lock's format changes only when we say.
UV_VERSION ?= 0.13.9
# --upgrade re-resolves everything to the newest versions within
# pyproject.toml's bounds; LOCK_ARGS="--upgrade-package numpy" moves one.
LOCK_ARGS ?= --upgrade
lock:  ## re-resolve requirements-lock.txt from pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/python -m uv pip compile pyproject.toml --universal \
	  --fork-strategy fewest --python-version 3.11 $(LOCK_ARGS) \
	  --custom-compile-command "make lock" --quiet -o requirements-lock.txt

# The pinned versions in package-lock.json; never committed, see .gitignore.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { printf '%s\n' \
	  "npm not found. The slides need Node.js 18 or later (npm fetches reveal.js" \
	  "and MathJax): make book, make slides, make handouts and make test use them." \
	  "Without Node.js, make lab reads and runs the chapters, and make test-python" \
	  "runs the unit tests and every chapter, all but the slide tests." >&2; exit 1; }
	npm ci --no-audit --no-fund

clean:
	rm -rf build
