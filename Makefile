# Learnproof — every target installs what it needs on first use (scripts/dev-env.sh).
SHELL := /bin/bash
PY := .venv/bin/python
SERVICES_SRC := packages/events/src services/lrs/src services/analytics/src services/identity-sync/src bench/src

.PHONY: help venv run test test-fast lint fmt services-up services-down run-kafka bench bench-quick clean

help: ## List every target with one line each
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

venv: ## Create/refresh the development environment in .venv
	@scripts/dev-env.sh

run: venv ## Start LRS (:8080), analytics (:8081), identity-sync (:8082) on SQLite, no Kafka
	@scripts/run.sh embedded

run-kafka: venv ## Start the three services + relay on the local PostgreSQL and Kafka (make services-up first)
	@scripts/run.sh kafka

test: venv ## Run every test against SQLite, a real PostgreSQL and a real Kafka (started and stopped here)
	@scripts/with-services.sh $(PY) -m pytest -q

test-fast: venv ## Unit tests only (no PostgreSQL, no Kafka)
	@$(PY) -m pytest -q -m "not postgres and not kafka"

lint: venv ## ruff + strict mypy + import contracts
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy $(SERVICES_SRC)
	@.venv/bin/lint-imports

fmt: venv ## Format the code with ruff
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

services-up: ## Start the local PostgreSQL and Kafka on 127.0.0.1 (installed on first use)
	@scripts/pg.sh start
	@scripts/kafka.sh start

services-down: ## Stop the local PostgreSQL and Kafka started by services-up
	@scripts/kafka.sh stop
	@scripts/pg.sh stop

bench: venv ## Full benchmarks against PostgreSQL: prints a table and writes .bench/latest.json
	@scripts/with-services.sh $(PY) -m learnproof_bench

bench-quick: venv ## Benchmarks in quick mode (under 2 minutes)
	@LEARNPROOF_NO_KAFKA=1 scripts/with-services.sh $(PY) -m learnproof_bench --quick

clean: ## Remove caches and local data (not the PostgreSQL/Kafka installs)
	rm -rf .data .bench .pytest_cache .mypy_cache .ruff_cache
