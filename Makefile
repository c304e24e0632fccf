.PHONY: run test lint typecheck arch unit setup setup-dev bench

VENV := .venv
BIN := $(VENV)/bin

setup:
	@scripts/setup.sh

setup-dev:
	@scripts/setup.sh --dev
	@scripts/setup-docker.sh
	@scripts/setup-torchserve.sh
	@scripts/setup-ui.sh

# Start the server in the foreground and deploy the demo endpoint `smollm2`. A first run
# builds the engine (llama.cpp) in the background meanwhile: the server answers at once and the
# demo shows the build's progress, then becomes Ready by itself.
run:
	@scripts/setup.sh --engine-in-background
	@$(BIN)/python -m modelport.server.demo

# Lint, types, architecture contracts, then the whole test suite.
# Two pytest workers: most of a test's time is an engine or server starting, so two files at a
# time fill the two cores CI has; a file stays on one worker (its module fixtures are shared).
PYTEST_WORKERS ?= 2

test: setup-dev lint typecheck arch
	@$(BIN)/python -m pytest -q -rs -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup-dev
	@$(BIN)/ruff check src tests benchmarks
	@$(BIN)/ruff format --check src tests benchmarks

typecheck: setup-dev
	@$(BIN)/mypy

arch: setup-dev
	@$(BIN)/lint-imports

bench: setup-dev
	@$(BIN)/python benchmarks/gateway.py
