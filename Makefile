# adlib: `make book` builds the HTML book, `make test` runs every check CI runs.
# Both create the virtual environment in $(VENV) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.adlib-installed
NB ?= $(sort $(wildcard notebooks/*.ipynb))
# Datasets: the read-only mirror, if any (CI sets ADLIB_DATA=../shared/data); otherwise downloads.
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONHASHSEED := 0

.PHONY: book test unit nbval build-book notebooks benchmark student clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[cpu,book,test]"
	touch $(STAMP)

book: $(STAMP) build-book
	@echo
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

build-book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -p no:cacheprovider -n 2 --dist loadfile --durations=10

nbval: $(STAMP)
	ADLIB_PROFILE=smoke $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.nbval_plugin \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
		--nbval-sanitize-with tests/nbval_sanitize.cfg $(NB)

test: unit nbval build-book

# Re-execute every notebook in place under the `book` profile: this is how committed outputs are made.
# A cell may run for up to 90 minutes: chapter 06's benchmark loop is one cell of about an hour.
notebooks: $(STAMP)
	cd notebooks && for nb in $(notdir $(NB)); do \
		echo "== $$nb"; start=$$(date +%s); \
		ADLIB_PROFILE=book ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=5400 --ExecutePreprocessor.kernel_name=python3 $$nb || exit 1; \
		echo "== $$nb: $$(( $$(date +%s) - start )) s"; \
	done
	$(MAKE) benchmark

# book/benchmark.md (and the records CSV and gap figure beside it) are generated from the results files,
# never edited by hand.
benchmark: $(STAMP)
	$(BIN)/python -m adlib.report notebooks/results book/benchmark.md

# Copies of the chapters for handing out: no outputs, no solutions (the exercises stay).
student: $(STAMP)
	$(BIN)/python -m adlib.student notebooks _build/student

clean:
	rm -rf _build
