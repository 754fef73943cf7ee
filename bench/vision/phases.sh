#!/usr/bin/env bash
# bench/vision/phases.sh: where a detect's time goes. Sequential
# POST /v1/vision/detect calls (raw JPEG body, result cache off) read each
# answer's Server-Timing header; the bare OpenCV forward of the same model on
# the same photo (bench_vision_raw) runs between the rounds, so both see the
# same machine minute. Prints the median of every phase and the ratio of the
# server's total to the bare forward (the issue's target: <= 1.10x).
# Usage: bench/vision/phases.sh [requests per round, default 30] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-30}"
ROUNDS="${2:-3}"
BUILD_DIR="${BUILD_DIR:-build}"
[ -x "$BUILD_DIR/atelier" ] && [ -x "$BUILD_DIR/bench/bench_vision_raw" ] || scripts/build.sh >/dev/null
MODELS="${MODELS:-../shared/models}"
IMAGE="${BENCH_IMAGE:-$(pwd)/../shared/data/coco/images/val2017/000000000139.jpg}"
TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
PORT=18097
ATELIER_DATA_DIR="$TMP/data" ATELIER_CACHE_SIZE=0 ATELIER_FREE_DAILY_LIMIT=0 \
  ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE=0 ATELIER_ACCESS_LOG=false \
  "$BUILD_DIR/atelier" serve --port "$PORT" >"$TMP/log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
detect() {
  curl -s -D - -o /dev/null -X POST -H 'Content-Type: image/jpeg' --data-binary "@$IMAGE" \
    "http://127.0.0.1:$PORT/v1/vision/detect" | tr -d '\r' | grep -i '^server-timing:'
}
for _ in 1 2 3; do detect >/dev/null; done  # warm: lazy model initialisation
: >"$TMP/timings"
: >"$TMP/raw"
for r in $(seq "$ROUNDS"); do
  "$BUILD_DIR/bench/bench_vision_raw" "$MODELS/yolox-nano/yolox_nano.onnx" "$IMAGE" 20 |
    awk '{print $3}' >>"$TMP/raw"
  for _ in $(seq "$N"); do detect >>"$TMP/timings"; done
done
echo "cpu: $(nproc) cores; image: $(basename "$IMAGE"); $ROUNDS rounds of $N detects"
python3 - "$TMP/timings" "$TMP/raw" <<'PY'
import re, statistics, sys
phases = {}
for line in open(sys.argv[1]):
    for name, dur in re.findall(r'([\w.-]+);dur=([\d.]+)', line):
        phases.setdefault(name, []).append(float(dur))
raw = statistics.median(float(x) for x in open(sys.argv[2]) if x.strip())
print(f"{'bare forward (bench_vision_raw)':34s} {raw:8.2f} ms")
for name, v in phases.items():
    print(f"{name:34s} {statistics.median(v):8.2f} ms")
total = statistics.median(phases['total'])
print(f"total / bare forward: {total / raw:.3f}x (target <= 1.10x)")
PY
