# The front door. Every target bootstraps .venv from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The AWS SAM CLI lives in its own environment: its pins would fight ours.
SAM_STAMP := .venv-sam/.installed

# The console (console/): Node 20+ and npm; built into console/dist when its sources change.
CONSOLE_STAMP := console/node_modules/.installed
CONSOLE_BUILD := console/dist/index.html
CONSOLE_SOURCES := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.ts console/tsconfig.json
# The browser the console's tests drive: Debian's Chromium (Playwright downloads none of its own).
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench serve lint clean contract console console-test publish-console

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_STAMP)

$(CONSOLE_BUILD): $(CONSOLE_STAMP) $(CONSOLE_SOURCES)
	cd console && npm run --silent build

console: $(CONSOLE_BUILD)

STACK ?= tern-dev
publish-console: $(STAMP) $(CONSOLE_BUILD)  # after `sam deploy`: the console into the stack's bucket, with its sign-in config
	$(BIN)/tern console publish --stack $(STACK)

console-test: $(CONSOLE_STAMP)
	cd console && npm test --silent

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SAM_STAMP):
	test -x .venv-sam/bin/python || $(PYTHON) -m venv .venv-sam
	.venv-sam/bin/python -m pip install --quiet --upgrade pip
	.venv-sam/bin/python -m pip install --quiet 'aws-sam-cli>=1.170'
	touch $(SAM_STAMP)

demo: $(STAMP)
	$(BIN)/python -m tern_local.demo

test: $(STAMP) $(SAM_STAMP) $(CONSOLE_BUILD) $(CHROMIUM) console-test
	$(BIN)/python -m pytest -n 2 --dist loadfile  # two workers, each test file whole in one (a module's local stack with it)

bench: $(STAMP)
	$(BIN)/python bench/segments.py
	$(BIN)/python bench/refresh.py
	$(BIN)/python bench/journeys.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/steps.py
	$(BIN)/python bench/cost.py
	$(MAKE) $(CONSOLE_BUILD) $(CHROMIUM)
	$(BIN)/python bench/console.py

contract: $(STAMP)  # the contract test with Schemathesis' coverage phase too: some 60,000 requests, an hour or more
	TERN_CONTRACT_FULL=1 $(BIN)/python -m pytest tests/integration/test_contract.py

DATA ?= demo-lake
serve: $(STAMP) $(CONSOLE_BUILD)
	test -d $(DATA)/contacts || $(BIN)/tern data generate --out $(DATA) --contacts 20000 --org demo
	$(BIN)/tern serve --data $(DATA)

lint: $(STAMP) $(SAM_STAMP)
	$(BIN)/ruff check layers local tests bench functions
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --region eu-central-1
	SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/.venv-sam/bin:$$PATH" .venv-sam/bin/sam build --build-dir .aws-sam/build

clean:
	rm -rf $(VENV) .venv-sam .aws-sam demo-lake demo-lake-run bench-lake .pytest_cache .mypy_cache .ruff_cache console/node_modules console/dist
