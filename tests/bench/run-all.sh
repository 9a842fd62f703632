#!/usr/bin/env bash
# Runs every gatehouse-load scenario on SQLite and PostgreSQL and the wrk login-page check
# (docs/benchmarks.md). Builds the release binaries first. Environment:
#   DURATION  seconds per measured phase (default 20)
#   CLIENTS   concurrent clients (default 8)
#   BACKENDS  "sqlite postgres" (default both; PostgreSQL is a throwaway cluster unless
#             GATEHOUSE_LOAD_DATABASE_URL names an empty database)
#   SKIP_M2M  set to skip the M2M scenario
#   OUT       where the JSON lines go (default target/bench/results.jsonl)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-8}
BACKENDS=${BACKENDS:-sqlite postgres}
OUT=${OUT:-$ROOT/target/bench/results.jsonl}
mkdir -p "$(dirname "$OUT")"
: > "$OUT"

cargo build --release -p gatehouse -p gatehouse-testkit
LOAD=$ROOT/target/release/gatehouse-load

run() {
  echo "== gatehouse-load $*"
  "$LOAD" "$@" --json | tee >(grep '^{' >> "$OUT") | grep -v '^{' || echo "!! failed: $*"
}

for backend in $BACKENDS; do
  common=(--backend "$backend" --duration "$DURATION")
  run login-page "${common[@]}" --clients "$CLIENTS"
  run login-page "${common[@]}" --clients "$CLIENTS" --with-cookies
  for groups in 100 5000; do
    # 5000-group logins are slower: fewer clients keep the latency figures meaningful.
    c=$CLIENTS; [ "$groups" = 5000 ] && c=$(( CLIENTS < 4 ? CLIENTS : 4 ))
    run entra-login "${common[@]}" --clients "$c" --groups "$groups" --mode first
    run entra-login "${common[@]}" --clients "$c" --groups "$groups" --mode repeat --users-per-client 4
  done
  if [ -z "${SKIP_M2M:-}" ]; then
    run m2m "${common[@]}" --clients "$CLIENTS" --alg both
  fi
done

# The login page with wrk (keep-alive connections, no cookies): requests/s and CPU per request.
if command -v wrk >/dev/null; then
  for backend in $BACKENDS; do
    log=$(mktemp)
    "$LOAD" serve --backend "$backend" > "$log" 2>&1 &
    serve=$!
    for _ in $(seq 1 600); do grep -q '^ready ' "$log" && break; sleep 0.1; done
    read -r _ base pid < <(grep '^ready ' "$log")
    ticks=$(getconf CLK_TCK)
    cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
    wrk -t 2 -c "$CLIENTS" -d 3s "$base/if/flow/default-authentication-flow/" > /dev/null
    before=$(cpu "$pid")
    echo "== wrk login page [$backend] -c $CLIENTS -d ${DURATION}s"
    result=$(wrk -t 2 -c "$CLIENTS" -d "${DURATION}s" --latency "$base/if/flow/default-authentication-flow/")
    after=$(cpu "$pid")
    echo "$result"
    requests=$(echo "$result" | awk '/requests in/ {print $1}')
    awk -v b="$before" -v a="$after" -v t="$ticks" -v n="$requests" \
      'BEGIN { printf "  Gatehouse CPU: %.2f s = %.3f ms per request\n", (a-b)/t, (a-b)/t*1000/n }'
    kill -INT "$serve"; wait "$serve" 2>/dev/null || true
    rm -f "$log"
  done
fi
echo "JSON lines: $OUT"
