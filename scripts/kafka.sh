#!/usr/bin/env bash
# Starts / stops the project's own single-node Kafka 4.x broker (KRaft) on 127.0.0.1, assembled
# from Maven Central jars (deploy/kafka/pom.xml; no Docker, no Apache download site). Data and
# logs under .cache/kafka; stops only what it started, by PID. Environment overrides let a test
# run a second, private broker on other ports (LEARNPROOF_KAFKA_PORT, _CONTROLLER_PORT, _DIR).
#   scripts/kafka.sh start|stop|status|url
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# Below Linux's ephemeral range (32768-60999): a listening port inside it can be taken at any
# moment by the local end of some outbound connection (a CI run failed to bind 59092 so).
PORT=${LEARNPROOF_KAFKA_PORT:-29092}
CPORT=${LEARNPROOF_KAFKA_CONTROLLER_PORT:-29093}
BASE=${LEARNPROOF_KAFKA_DIR:-$ROOT/.cache/kafka}
# The jars are shared by every instance, whatever its BASE.
LIBS=${LEARNPROOF_KAFKA_LIBS:-$ROOT/.cache/kafka/libs}
TIMEOUT=${LEARNPROOF_KAFKA_START_TIMEOUT:-120}
DATA=$BASE/data
LOGS=$BASE/logs
CONF=$BASE/server.properties
PIDFILE=$BASE/started-by-us.pid
ADDR="127.0.0.1:$PORT"
DEPLOY=$ROOT/deploy/kafka

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

our_pid() {
  # Prints the PID of the broker we started, if it still runs (and is still that broker).
  [ -f "$PIDFILE" ] || return 1
  local pid; pid=$(cat "$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

fetch_libs() {
  # A marker written after a complete copy: an interrupted fetch is redone, not half-used.
  [ -f "$LIBS/.complete" ] && return 0
  echo "kafka.sh: fetching Kafka jars from Maven Central into $LIBS" >&2
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  # Maven's console library emits colour codes even in batch mode: strip them.
  mvn -q -B -Dstyle.color=never -f "$DEPLOY/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' >&2
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  touch "$LIBS/.complete"
}

write_conf() {
  sed -e "s|@PORT@|$PORT|g" -e "s|@CONTROLLER_PORT@|$CPORT|g" -e "s|@DATA_DIR@|$DATA|g" \
    "$DEPLOY/server.properties.in" > "$CONF"
}

cluster_id() {
  # Kafka's cluster id is a random UUID in URL-safe base64 without padding (what
  # `StorageTool random-uuid` prints); made here to spare one JVM start. Kafka rejects a
  # leading '-'.
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

java_opts() {
  echo "-Djava.awt.headless=true -Dlog4j2.configurationFile=$DEPLOY/log4j2.properties" \
    "-Dkafka.logs.dir=$LOGS"
}

wait_ready_python() {
  # For a JRE without javac: the same real request through the project's aiokafka.
  "$ROOT/.venv/bin/python" - "$ADDR" "$1" <<'PY'
import asyncio, logging, sys, time
from aiokafka.admin import AIOKafkaAdminClient
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # refused connections are expected
async def main(addr: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=addr, request_timeout_ms=3000)
        try:
            await asyncio.wait_for(admin.start(), 4)
            await asyncio.wait_for(admin.list_topics(), 4)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                sys.exit(f"kafka not ready at {addr}: {exc!r}")
            await asyncio.sleep(0.3)
        finally:
            await admin.close()
asyncio.run(main(sys.argv[1], float(sys.argv[2])))
PY
}

wait_ready() {
  if ! command -v javac >/dev/null && [ -x "$ROOT/.venv/bin/python" ]; then
    wait_ready_python "$1"
    return
  fi
  # The probe is compiled once next to the jars: compiling it on every start costs seconds of
  # CPU on a busy machine.
  local probe="$LIBS/../probe"
  if [ ! -f "$probe/KafkaReady.class" ] || [ "$DEPLOY/KafkaReady.java" -nt "$probe/KafkaReady.class" ]; then
    # Compiled aside and renamed into place: concurrent starts of other instances share it.
    mkdir -p "$probe" "$probe.$$"
    javac -nowarn -cp "$LIBS/*" -d "$probe.$$" "$DEPLOY/KafkaReady.java"
    mv -f "$probe.$$/KafkaReady.class" "$probe/KafkaReady.class"
    rm -rf "$probe.$$"
  fi
  java -Xmx128m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Dlog4j2.level=ERROR \
    -cp "$probe:$LIBS/*" KafkaReady "$ADDR" "$1"
}

start() {
  mkdir -p "$BASE"
  # Several helpers may call start at once; one starts the broker, the others wait and reuse it.
  exec 9>"$BASE/.lock"
  flock 9
  if our_pid >/dev/null && port_open "$PORT"; then echo "$ADDR"; return 0; fi
  if port_open "$PORT"; then
    # Someone else's broker (e.g. docker-compose) on our port: use it if it really serves.
    fetch_libs
    wait_ready 30 || { echo "kafka.sh: port $PORT is taken by something that is not Kafka" >&2; exit 1; }
    echo "$ADDR"; return 0
  fi
  rm -f "$PIDFILE"
  fetch_libs
  mkdir -p "$DATA" "$LOGS"
  write_conf
  # shellcheck disable=SC2046
  if [ ! -f "$DATA/meta.properties" ]; then
    java -Xmx256m $(java_opts) -cp "$LIBS/*" kafka.tools.StorageTool format \
      --cluster-id "$(cluster_id)" --config "$CONF" >"$LOGS/format.log" 2>&1 \
      || { cat "$LOGS/format.log" >&2; echo "kafka.sh: format failed" >&2; exit 1; }
  fi
  # Detached from our stdout/stderr (callers read the address with $(...)) and from the lock fd.
  # shellcheck disable=SC2046
  nohup java -Xms256m -Xmx512m ${LEARNPROOF_KAFKA_JAVA_OPTS:-} $(java_opts) -cp "$LIBS/*" \
    kafka.Kafka "$CONF" \
    </dev/null >"$LOGS/stdout.log" 2>&1 9>&- &
  echo $! > "$PIDFILE"
  if ! wait_ready "$TIMEOUT"; then
    echo "kafka.sh: broker did not become ready within ${TIMEOUT}s; see $LOGS/server.log" >&2
    stop
    exit 1
  fi
  echo "$ADDR"
}

stop() {
  local pid
  # Wait for a start in progress (it holds the lock) rather than race it.
  if [ -d "$BASE" ]; then exec 9>"$BASE/.lock"; flock 9; fi
  if pid=$(our_pid); then
    kill -TERM "$pid"   # the broker's shutdown hook closes logs cleanly
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) port_open "$PORT" && echo "up $ADDR" || echo "down" ;;
  url) echo "$ADDR" ;;
  *) echo "usage: scripts/kafka.sh start|stop|status|url" >&2; exit 2 ;;
esac
