# Every target sets up what it needs: a bootstrap venv with a pinned uv (.tools), then the
# project environment (.venv) from uv.lock. Only Python 3.10+ and make are required.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
BIN := .venv/bin

.PHONY: help setup test lint typecheck pytest check-generated generate golden demo bench package-check update-schemas clean

help:
	@echo "make demo      set up, regenerate the SDK and run the example against the offline emulator"
	@echo "make test      set up and run every check CI runs (ruff, mypy --strict, pytest, drift, wheel)"
	@echo "make generate  regenerate generated/ from schemas/"
	@echo "make golden    refresh the generator's golden test files"
	@echo "make bench     print the benchmark tables (see BENCHMARKS.md)"
	@echo "make update-schemas [IDS=\"fal-ai/flux/dev ...\"]  pull schemas/ from fal, print the diff, regenerate"

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --python $(PYTHON)
	@touch $@

setup: .venv/.synced

lint: setup
	$(BIN)/ruff check src codegen generated tests examples scripts bench
	$(BIN)/ruff format --check src codegen tests examples scripts bench

typecheck: setup
	$(BIN)/mypy -p fal_typed -p fal_typed.models -p fal_typed_codegen
	$(BIN)/mypy tests examples scripts bench

pytest: setup
	$(BIN)/pytest -q

check-generated: setup
	$(BIN)/fal-typed generate --check

package-check: setup
	scripts/check_package.sh

test: lint typecheck check-generated package-check pytest

generate: setup
	$(BIN)/fal-typed generate

demo: setup
	$(BIN)/fal-typed generate
	$(BIN)/python examples/demo.py --emulator

golden: setup
	$(BIN)/fal-typed generate tests/codegen/fixtures --out tests/codegen/golden --package goldenpkg

update-schemas: setup
	$(BIN)/python scripts/update_schemas.py $(IDS)

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf .venv .tools dist build .mypy_cache .ruff_cache .pytest_cache
