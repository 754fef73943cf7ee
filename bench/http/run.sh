#!/usr/bin/env bash
# bench/http: requests per second with wrk for
#   atelier GET /health, atelier GET /v1/me (API key, rate limiter, quota),
#   a bare RESTinio hello-world, FastAPI (async, uvicorn + uvloop + httptools) /health and /v1/me,
# each server pinned to CPU 0 and wrk to CPU 1, all measured in this run.
# The machine's speed drifts from second to second, so the endpoints are
# measured in interleaved rounds and each figure is the median over rounds.
# Usage: bench/http/run.sh [seconds per run, default 5] [connections, default 32] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR="${1:-5}"
CONN="${2:-32}"
ROUNDS="${3:-3}"
BUILD_DIR="${BUILD_DIR:-build}"
[ -x "$BUILD_DIR/atelier" ] && [ -x "$BUILD_DIR/bench/bench_bare_restinio" ] || scripts/build.sh >/dev/null
PY=/usr/bin/python3  # Debian's python3 has python3-fastapi and uvicorn
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

wait_up() { for _ in $(seq 100); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
rps() {  # url [header]
  local out
  if [ -n "${2:-}" ]; then
    out=$(taskset -c 1 wrk -t1 -c"$CONN" -d"${DUR}s" -H "$2" "$1")
  else
    out=$(taskset -c 1 wrk -t1 -c"$CONN" -d"${DUR}s" "$1")
  fi
  if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers from $1" >&2; echo "$out" >&2; exit 1; fi
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

# Start every server first; then measure in rounds.
taskset -c 0 "$BUILD_DIR/bench/bench_bare_restinio" 18090 & PIDS+=($!)
wait_up http://127.0.0.1:18090/

# atelier, production-like: access log on (to /dev/null), limiter and quota active but not tripping
export ATELIER_DATA_DIR="$TMP/data" ATELIER_IO_THREADS=1 ATELIER_WORKERS=1 \
  ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE=100000000 ATELIER_PREMIUM_DAILY_LIMIT=0 ATELIER_LOG_LEVEL=info
KEY=$("$BUILD_DIR/atelier" keys create --tier premium --name bench | tail -1)
taskset -c 0 "$BUILD_DIR/atelier" serve --port 18091 >/dev/null & PIDS+=($!)
wait_up http://127.0.0.1:18091/health

# FastAPI at its best on one core: async handlers, uvicorn on uvloop + httptools
# (Debian python3-uvloop, python3-httptools), one worker, no access log.
(cd bench/http && BENCH_KEY="$KEY" taskset -c 0 $PY -m uvicorn fastapi_app:app --host 127.0.0.1 --port 18092 \
  --loop uvloop --http httptools --log-level warning --no-access-log) & PIDS+=($!)
wait_up http://127.0.0.1:18092/health

declare -A R
for round in $(seq "$ROUNDS"); do
  R[bare]+="$(rps http://127.0.0.1:18090/) "
  R[a_health]+="$(rps http://127.0.0.1:18091/health) "
  R[a_me]+="$(rps http://127.0.0.1:18091/v1/me "X-API-Key: $KEY") "
  R[f_health]+="$(rps http://127.0.0.1:18092/health) "
  R[f_me]+="$(rps http://127.0.0.1:18092/v1/me "X-API-Key: $KEY") "
done
median() { echo "$1" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
BARE=$(median "${R[bare]}")
A_HEALTH=$(median "${R[a_health]}")
A_ME=$(median "${R[a_me]}")
F_HEALTH=$(median "${R[f_health]}")
F_ME=$(median "${R[f_me]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "bench/http: wrk -t1 -c$CONN -d${DUR}s, server on CPU 0, wrk on CPU 1; median of $ROUNDS interleaved rounds"
for k in bare a_health a_me f_health f_me; do echo "  rounds $k: ${R[$k]}"; done
printf "%-40s %12s %10s %10s\n" "server / endpoint" "req/s" "x bare" "x FastAPI"
printf "%-40s %12.0f %10s %10s\n" "bare RESTinio hello-world" "$BARE" "1.00" "-"
printf "%-40s %12.0f %10s %10s\n" "atelier GET /health" "$A_HEALTH" "$(ratio "$A_HEALTH" "$BARE")" "$(ratio "$A_HEALTH" "$F_HEALTH")"
printf "%-40s %12.0f %10s %10s\n" "atelier GET /v1/me (key, limits, quota)" "$A_ME" "$(ratio "$A_ME" "$BARE")" "$(ratio "$A_ME" "$F_ME")"
printf "%-40s %12.0f %10s %10s\n" "FastAPI async, uvloop+httptools /health" "$F_HEALTH" "$(ratio "$F_HEALTH" "$BARE")" "1.00"
printf "%-40s %12.0f %10s %10s\n" "FastAPI async, uvloop+httptools /v1/me" "$F_ME" "$(ratio "$F_ME" "$BARE")" "1.00"
echo "targets: /health >= 0.80x bare; /v1/me >= 0.60x bare; both >= 3x FastAPI"
