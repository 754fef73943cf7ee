#!/usr/bin/env bash
# bench/vision: POST /v1/vision/detect latency and throughput with wrk at
# concurrency 1, 8, 16 and 32 with dynamic batching (up to 8 per forward),
# at 16 without batching (batch_max 1), and the bare OpenCV forward of the
# same model on the same photo, all in this run. This VM's speed drifts by
# tens of percent from minute to minute, so the two comparisons the targets
# name are measured in interleaved rounds and reported as medians. Each round
# also measures the most batching can gain here: bare forwards per second from
# one net with OpenCV's threads against one single-threaded net per core.
# The result cache is off so every request runs the model.
# Usage: bench/vision/run.sh [seconds per run, default 8] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR="${1:-8}"
ROUNDS="${2:-3}"
BUILD_DIR="${BUILD_DIR:-build}"
[ -x "$BUILD_DIR/atelier" ] && [ -x "$BUILD_DIR/bench/bench_vision_raw" ] || scripts/build.sh >/dev/null
MODELS="${MODELS:-../shared/models}"
export BENCH_IMAGE="${BENCH_IMAGE:-$(pwd)/../shared/data/coco/images/val2017/000000000139.jpg}"
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

serve() {  # port batch_max
  ATELIER_DATA_DIR="$TMP/data$1" ATELIER_CACHE_SIZE=0 ATELIER_BATCH_MAX="$2" ATELIER_FREE_DAILY_LIMIT=0 \
    ATELIER_IDENTITY_RATE_LIMIT_PER_MINUTE=0 ATELIER_ACCESS_LOG=false ATELIER_INFERENCE_QUEUE=256 \
    "$BUILD_DIR/atelier" serve --port "$1" >"$TMP/log$1" 2>&1 & PIDS+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/health/ready" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "server did not start" >&2; cat "$TMP/log$1" >&2; exit 1
}
run() {  # port connections
  curl -sf -X POST -H 'Content-Type: image/jpeg' --data-binary "@$BENCH_IMAGE" "http://127.0.0.1:$1/v1/vision/detect" >/dev/null
  wrk -t1 -c"$2" -d"${DUR}s" --timeout 30s -s bench/vision/post.lua "http://127.0.0.1:$1/v1/vision/detect" | grep RESULT
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "cpu: $(nproc) cores; image: $(basename "$BENCH_IMAGE"); ${DUR}s per run; $ROUNDS rounds"
serve 18095 8
serve 18096 1
RAW=(); C1=(); ON=(); OFF=(); CEIL=()
for r in $(seq "$ROUNDS"); do
  raw=$("$BUILD_DIR/bench/bench_vision_raw" "$MODELS/yolox-nano/yolox_nano.onnx" "$BENCH_IMAGE" 40)
  c1=$(run 18095 1)
  on=$(run 18095 16)
  off=$(run 18096 16)
  ceil=$("$BUILD_DIR/bench/bench_vision_raw" "$MODELS/yolox-nano/yolox_nano.onnx" "$BENCH_IMAGE" --ceiling "$(awk -v d="$DUR" 'BEGIN {print d / 2}')")
  echo "round $r: $raw | c=1 $c1"
  echo "round $r: batching on  c=16 $on"
  echo "round $r: batching off c=16 $off"
  echo "round $r: $ceil"
  RAW+=("$(echo "$raw" | awk '{print $3}')"); C1+=("$(echo "$c1" | awk '{print $3}')")
  ON+=("$(echo "$on" | awk '{print $9}')"); OFF+=("$(echo "$off" | awk '{print $9}')")
  CEIL+=("$(echo "$ceil" | awk '{print $7}')")
done
for c in 8 32; do echo "batching on  c=$c  $(run 18095 "$c")"; done

raw_p50=$(printf '%s\n' "${RAW[@]}" | median); c1_p50=$(printf '%s\n' "${C1[@]}" | median)
on=$(printf '%s\n' "${ON[@]}" | median); off=$(printf '%s\n' "${OFF[@]}" | median)
ceil=$(printf '%s\n' "${CEIL[@]}" | median)
echo "medians: raw forward p50 ${raw_p50} ms, HTTP c=1 p50 ${c1_p50} ms, c=16 ${on} rps batched, ${off} rps unbatched"
awk -v a="$c1_p50" -v r="$raw_p50" 'BEGIN {printf "p50 at concurrency 1 / raw forward p50: %.2fx (target <= 1.10x)\n", a / r}'
awk -v on="$on" -v off="$off" 'BEGIN {printf "throughput at 16 concurrent, batching on / off: %.2fx (target >= 1.3x)\n", on / off}'
awk -v c="$ceil" -v on="$on" -v off="$off" 'BEGIN {printf "ceiling here (bare forwards, one net per core / one net with intra-op threads): %.2fx; the server reaches %.0f%% of it\n", c, 100 * (on / off) / c}'
