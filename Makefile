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

export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
# No usage reports or error tracebacks to Rasa's third-party services from any rasa command make runs.
export RASA_TELEMETRY_ENABLED := false

.PHONY: run test train say validate lint clean bench test-stories import-orders

run: $(MODEL)
	@$(PY) -m stack.run

test: $(MODEL) lint validate test-stories $(CHROMIUM)
	$(PY) -m pytest

# Debian's Chromium for the agent inbox's browser tests (apt needs its package lists first).
$(CHROMIUM):
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get update -qq
	$$([ "$$(id -u)" = 0 ] || echo sudo) apt-get install -y -qq chromium

train: $(MODEL)

# Usage: make say MSG="where is my order 1001" [FROM=15551230001] [NAME="Ana Lima"]
say: $(VENV)/.installed
	@$(PY) -m cloud_api_standin.say

# Every flow's test stories (tests/stories/) against the trained model.
test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories

# Usage: make import-orders CSV=orders.csv (see bot/shop/import_orders.py for the columns)
import-orders: $(VENV)/.installed
	$(PY) -m bot.shop.import_orders "$(CSV)"

lint: $(VENV)/.installed
	$(PY) -m ruff check .

validate: $(SPACY_MODEL)
	$(RASA) data validate --fail-on-warnings --data bot/data --domain domain.yml --config config.yml

$(VENV)/.installed: requirements.lock
	@python=$$(stack/find-python310.sh) || exit 1; \
	if [ ! -x $(PY) ]; then \
	  echo "creating $(VENV) with $$python"; \
	  $$python -m venv $(VENV) || { echo "could not create $(VENV) with $$python (Debian: apt-get install python3.10-venv)"; exit 1; }; \
	fi
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.lock
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

# NLU quality: the trained model on the held-out set, then 5-fold cross-validation on the training
# data (reports and confusion matrices in results/), out-of-scope messages against the fallback;
# prints the macro-F1 of both runs and fails when a target is missed.
.PHONY: eval
eval: $(MODEL)
	$(RASA) test nlu --nlu tests/nlu/holdout.yml --model $(MODEL) --out results/holdout
	$(RASA) test nlu --nlu bot/data --config config.yml --domain domain.yml \
	  --cross-validation --folds 5 --out results/cross-validation
	$(PY) -m bot.nlp.fallback_check $(MODEL) tests/nlu/out_of_scope.yml tests/nlu/holdout.yml \
	  --out results/fallback; fallback=$$?; \
	$(PY) -m bot.nlp.eval_report results/holdout results/cross-validation && exit $$fallback
