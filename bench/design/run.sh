#!/usr/bin/env bash
# Local design engine: latency at 512/1024/1536 px (bench_design, beside the
# Canny control alone), then jobs per minute over HTTP at 1 and 2 workers on
# a 1024 px photo (the 1-worker run is the baseline for the 2-worker one).
# usage: bench/design/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
"$BUILD/bench/bench_design" --iters 3
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
# A real room photo (the service downscales uploads to its max resolution).
photo=$(ls ../shared/data/rooms/living_room/*.jpg | head -1)
for w in 1 2; do
  data="$tmp/data-$w"; port=$((18700 + w))
  ATELIER_DATA_DIR="$data" ATELIER_PORT=$port ATELIER_DESIGN_WORKERS=$w ATELIER_DESIGN_QUEUE=1000 \
    ATELIER_DESIGN_DAILY_ADMIN=100000 ATELIER_RATE_LIMIT_PER_MINUTE=100000000 ATELIER_RATE_LIMIT_PER_HOUR=1000000000 \
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE=100000000 ATELIER_LOG_LEVEL=warn "$BUILD/atelier" serve > "$tmp/log-$w" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf "localhost:$port/health/live" > /dev/null && break; sleep 0.1; done
  key=$(ATELIER_DATA_DIR="$data" "$BUILD/atelier" keys create --tier admin | tail -1)
  echo -n "workers $w: "
  node bench/design/jobs.mjs "http://localhost:$port" "$key" "$photo" 40
  kill $pid; wait $pid 2>/dev/null || true
done
