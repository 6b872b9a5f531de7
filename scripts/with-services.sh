#!/usr/bin/env bash
# Runs a command with the project's PostgreSQL and Kafka up, exporting their addresses for the
# tests. Starts only what is not already running. What a run of this script started is stopped
# when the last run of it that is still going ends: two overlapping runs (`make test` while
# `make bench` runs) share the services, and the first to finish does not pull them from under
# the other. Services started by hand (`make services-up`) are never stopped here.
#   scripts/with-services.sh <command...>
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.cache/with-services
mkdir -p "$STATE/users"
: > "$STATE/users/$$"
others_running() {
  local f pid
  for f in "$STATE/users"/*; do
    [ -e "$f" ] || continue
    pid=${f##*/}
    [ "$pid" = $$ ] && continue
    if kill -0 "$pid" 2>/dev/null; then return 0; fi
    rm -f "$f"  # a run that ended without cleaning up (killed)
  done
  return 1
}
cleanup() {
  rm -f "$STATE/users/$$"
  if others_running; then return 0; fi
  for s in kafka pg; do
    if [ -f "$STATE/started-$s" ]; then
      rm -f "$STATE/started-$s"
      "scripts/$s.sh" stop || true
    fi
  done
}
trap cleanup EXIT
if [ "$(scripts/pg.sh status)" = down ]; then : > "$STATE/started-pg"; fi
LEARNPROOF_TEST_PG_URL=$(scripts/pg.sh start)
export LEARNPROOF_TEST_PG_URL
if [ -x scripts/kafka.sh ] && [ "${LEARNPROOF_NO_KAFKA:-}" != 1 ]; then
  if [ "$(scripts/kafka.sh status)" = down ]; then : > "$STATE/started-kafka"; fi
  LEARNPROOF_TEST_KAFKA=$(scripts/kafka.sh start)
  export LEARNPROOF_TEST_KAFKA
fi
"$@"
