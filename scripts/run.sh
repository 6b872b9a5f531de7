#!/usr/bin/env bash
# Runs the three services in the foreground until Ctrl-C.
#   scripts/run.sh embedded   SQLite files under .data/, no Kafka (the default of `make run`)
#   scripts/run.sh kafka      the local PostgreSQL + Kafka (make services-up) and the relays
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-embedded}
BIN=.venv/bin
mkdir -p .data
export LRS_BOOTSTRAP_KEY=${LRS_BOOTSTRAP_KEY:-dev-key}
export LRS_BOOTSTRAP_SECRET=${LRS_BOOTSTRAP_SECRET:-dev-secret}
# Development tokens for identity-sync's SCIM and admin APIs (JSON lists, as its settings read).
export IDENTITY_SCIM_TOKENS=${IDENTITY_SCIM_TOKENS:-'["dev-scim-token"]'}
export IDENTITY_ADMIN_TOKENS=${IDENTITY_ADMIN_TOKENS:-'["dev-admin-token"]'}
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

if [ "$mode" = kafka ]; then
  pg=$(scripts/pg.sh url)
  kafka=$(scripts/kafka.sh url)
  base=${pg%/*}
  for db in lp_lrs lp_analytics lp_identity; do
    psql "$pg" -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 \
      || psql "$pg" -qc "CREATE DATABASE $db"
  done
  export LRS_DATABASE_URL="$base/lp_lrs"
  export ANALYTICS_DATABASE_URL="$base/lp_analytics" ANALYTICS_KAFKA_BOOTSTRAP="$kafka"
  export IDENTITY_DATABASE_URL="$base/lp_identity" IDENTITY_KAFKA_BOOTSTRAP="$kafka"
fi

$BIN/learnproof-lrs serve & pids+=($!)
if [ "$mode" = kafka ]; then
  # Give the LRS a moment to create its schema before the relay reads its outbox.
  sleep 3
  $BIN/learnproof-relay --db "$LRS_DATABASE_URL" --kafka "$kafka" & pids+=($!)
  $BIN/learnproof-relay --db "$IDENTITY_DATABASE_URL" --kafka "$kafka" & pids+=($!)
fi
if [ -x $BIN/learnproof-analytics ]; then $BIN/learnproof-analytics serve & pids+=($!); fi
if [ -x $BIN/learnproof-identity ]; then $BIN/learnproof-identity serve & pids+=($!); fi
cat <<MSG
Learnproof is starting ($mode mode):
  LRS           http://127.0.0.1:8080/xapi   (Basic $LRS_BOOTSTRAP_KEY / $LRS_BOOTSTRAP_SECRET)
  analytics     http://127.0.0.1:8081/docs   (Bearer dev-analytics-key)
  identity-sync http://127.0.0.1:8082/docs   (SCIM /scim/v2: Bearer dev-scim-token; /api/v1: Bearer dev-admin-token)
Ctrl-C stops all of them.
MSG
wait -n "${pids[@]}"
