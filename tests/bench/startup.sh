#!/usr/bin/env bash
# Startup to ready (first 200 from /-/health/ready/) and idle RSS of the release binary, on the
# embedded SQLite default. Run from an empty folder: it creates ./data there.
#   cargo build --release -p gatehouse && mkdir -p /tmp/startup && (cd /tmp/startup && bash "$OLDPWD/tests/bench/startup.sh")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/gatehouse}
PORT=${PORT:-9311}
measure() {
  local start=$(date +%s%N)
  GATEHOUSE_LISTEN=127.0.0.1:$PORT GATEHOUSE_BOOTSTRAP_TOKEN=startup-measure-token "$BIN" serve >/dev/null 2>&1 &
  local pid=$!
  until curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$PORT/-/health/ready/ 2>/dev/null | grep -q 200; do :; done
  local end=$(date +%s%N)
  sleep 2
  local rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  echo "$1: ready after $(( (end - start) / 1000000 )) ms, idle RSS ${rss} kB"
  kill $pid; wait $pid 2>/dev/null
}
measure "first start (creates ./data/gatehouse.db)"
measure "second start (existing database)"
measure "third start"
