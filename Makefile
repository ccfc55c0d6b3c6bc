# The front door. Every target bootstraps .venv from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV := $(BIN)/uv
# The AWS SAM CLI lives in its own environment: its pins would fight ours.
SAM_STAMP := .venv-sam/.installed
# checkov (the security gate, security/checkov_gate.py) too: it pins boto3 and others far behind ours.
CHECKOV_STAMP := .venv-checkov/.installed
# Every Python environment installs from its lock in requirements/ (hashes, nothing unlocked: uv and pip both
# refuse what a lock does not name), and is checked against it after (requirements/locks.py check).
# `make lock` re-resolves them all to the newest releases and prints what moved.
LOCKS := requirements/dev.txt requirements/sam.txt requirements/checkov.txt requirements/uv.txt layers/common/requirements.lock layers/duckdb/requirements.lock
COMPILE = $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command 'make lock'

# The console (console/): Node 20+ and npm; built into console/dist when its sources change.
CONSOLE_STAMP := console/node_modules/.installed
CONSOLE_BUILD := console/dist/index.html
CONSOLE_SOURCES := $(shell find console/src -type f -not -path 'console/src/api/*' 2>/dev/null) console/index.html console/vite.config.ts console/tsconfig.json
# The console's API types are generated, in the build, from the API's own OpenAPI document (console/src/api/):
# a backend change the console does not follow fails its type check.
CONSOLE_SCHEMA := console/src/api/openapi.json
API_SOURCES := $(shell find layers/common/python/tern -name '*.py' 2>/dev/null)
# The browser the console's tests drive: Debian's Chromium (Playwright downloads none of its own).
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench serve lint clean contract console console-test publish-console lock test-latest security

$(CONSOLE_STAMP): console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $(CONSOLE_STAMP)

$(CONSOLE_SCHEMA): $(STAMP) $(API_SOURCES)
	mkdir -p console/src/api && $(BIN)/tern console openapi --out $@

$(CONSOLE_BUILD): $(CONSOLE_STAMP) $(CONSOLE_SOURCES) $(CONSOLE_SCHEMA)
	cd console && npm run --silent build

console: $(CONSOLE_BUILD)

STACK ?= tern-dev
publish-console: $(STAMP) $(CONSOLE_BUILD)  # after `sam deploy`: the console into the stack's bucket, with its sign-in config
	$(BIN)/tern console publish --stack $(STACK)

console-test: $(CONSOLE_STAMP)
	cd console && npm test --silent

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# uv itself, by pip in hash-checking mode, from its own one-line lock
$(UV): requirements/uv.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements/uv.txt
	touch $(UV)

# the venv exactly as locked (sync removes what the lock does not name), then Tern itself, editable
$(STAMP): requirements/dev.txt pyproject.toml $(UV)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(UV) pip sync --quiet --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/locks.py check requirements/dev.txt --ignore tern pip
	touch $(STAMP)

$(SAM_STAMP): requirements/sam.txt $(UV)
	test -x .venv-sam/bin/python || $(PYTHON) -m venv .venv-sam
	$(UV) pip sync --quiet --python .venv-sam/bin/python --require-hashes requirements/sam.txt
	.venv-sam/bin/python requirements/locks.py check requirements/sam.txt --ignore pip
	touch $(SAM_STAMP)

$(CHECKOV_STAMP): requirements/checkov.txt $(UV)
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv --without-pip .venv-checkov
	$(UV) pip sync --quiet --python .venv-checkov/bin/python --require-hashes requirements/checkov.txt
	.venv-checkov/bin/python requirements/locks.py check requirements/checkov.txt --ignore pip
	touch $(CHECKOV_STAMP)

security: $(STAMP) $(CHECKOV_STAMP)  # checkov over the template and its SAM expansion, against security/accepted.yaml
	$(BIN)/python security/checkov_gate.py --checkov .venv-checkov/bin/checkov

# Re-resolve every lock to the newest releases (the console's is package-lock.json: `npm update` in console/).
# Then run everything: `make test`, `make demo`, `make test-latest` (see README, "Upgrading dependencies").
lock: $(UV)
	mkdir -p .lock-before && $(foreach l,$(LOCKS),cp $(l) .lock-before/$(subst /,_,$(l)) 2>/dev/null;) true
	$(COMPILE) --upgrade pyproject.toml --extra dev -o requirements/dev.txt
	grep -E '^uv==' requirements/dev.txt | cut -d' ' -f1 | $(COMPILE) - -o requirements/uv.txt
	$(COMPILE) --upgrade requirements/sam.in -o requirements/sam.txt
	$(COMPILE) --upgrade requirements/checkov.in -o requirements/checkov.txt
	$(MAKE) -C layers/common lock UV=$(CURDIR)/$(UV)
	$(MAKE) -C layers/duckdb lock UV=$(CURDIR)/$(UV)
	$(BIN)/python requirements/locks.py diff $(foreach l,$(LOCKS),.lock-before/$(subst /,_,$(l)) $(l))
	rm -rf .lock-before

# The canary: a throwaway environment from the newest releases (no lock), running the local stack's smoke
# tests and the AWS-protocol tests. A failure here is the next break a new user would meet after `make lock`.
LATEST := .venv-latest
test-latest: $(UV)
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(COMPILE) --upgrade --no-header pyproject.toml --extra dev -o $(LATEST)/requirements.txt
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(UV) pip sync --quiet --python $(LATEST)/bin/python --require-hashes $(LATEST)/requirements.txt
	$(UV) pip install --quiet --python $(LATEST)/bin/python --no-deps --no-build-isolation -e .
	$(BIN)/python requirements/locks.py diff requirements/dev.txt $(LATEST)/requirements.txt
	$(LATEST)/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadfile \
		tests/integration/test_local_stack.py tests/integration/test_aws_protocols.py tests/unit/test_local_athena.py tests/unit/test_athena_engine.py

demo: $(STAMP)
	$(BIN)/python -m tern_local.demo

test: $(STAMP) $(SAM_STAMP) $(CHECKOV_STAMP) $(CONSOLE_BUILD) $(CHROMIUM) console-test
	$(BIN)/python -m pytest -n 2 --dist loadfile  # two workers, each test file whole in one (a module's local stack with it)

bench: $(STAMP)
	$(BIN)/python bench/segments.py
	$(BIN)/python bench/refresh.py
	$(BIN)/python bench/journeys.py
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/pinpoint.py
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
	$(BIN)/ruff check layers local tests bench functions requirements security
	$(BIN)/ruff format --check layers local tests bench functions requirements security
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --region eu-central-1
	SAM_CLI_TELEMETRY=0 PATH="$(CURDIR)/.venv-sam/bin:$$PATH" .venv-sam/bin/sam build --build-dir .aws-sam/build

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .venv-latest .aws-sam demo-lake demo-lake-run bench-lake bench-pinpoint .pytest_cache .mypy_cache .ruff_cache console/node_modules console/dist
