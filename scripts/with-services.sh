#!/usr/bin/env bash
# Runs a command with the project's PostgreSQL and Kafka up, exporting their addresses for the
# tests. Starts only what is not already running and stops only what it started.
#   scripts/with-services.sh <command...>
set -euo pipefail
cd "$(dirname "$0")/.."
started=()
cleanup() {
  for s in "${started[@]}"; do "scripts/$s.sh" stop || true; done
}
trap cleanup EXIT
if [ "$(scripts/pg.sh status)" = down ]; then started+=(pg); fi
LEARNPROOF_TEST_PG_URL=$(scripts/pg.sh start)
export LEARNPROOF_TEST_PG_URL
if [ -x scripts/kafka.sh ] && [ "${LEARNPROOF_NO_KAFKA:-}" != 1 ]; then
  if [ "$(scripts/kafka.sh status)" = down ]; then started+=(kafka); fi
  LEARNPROOF_TEST_KAFKA=$(scripts/kafka.sh start)
  export LEARNPROOF_TEST_KAFKA
fi
"$@"
