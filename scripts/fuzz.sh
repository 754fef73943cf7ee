#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan + UBSan) and runs each
# from its committed seed corpus for an equal share of a time budget.
#   scripts/fuzz.sh [total seconds, default 180]
# A crash, leak or sanitizer report fails the script; the reproducer is left
# in build-fuzz/findings/ (turn it into a regression test).
set -euo pipefail
cd "$(dirname "$0")/.."
BUDGET="${1:-${ATELIER_FUZZ_SECONDS:-180}}"
OUT="${FUZZ_BUILD_DIR:-build-fuzz}"
CC=clang CXX=clang++ cmake -S fuzz -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$OUT" -j"$(nproc)" >"$OUT/build.log" 2>&1 || { tail -n 40 "$OUT/build.log"; echo "fuzz: build failed" >&2; exit 1; }
targets=(fuzz/*_fuzz.cpp)
share=$(( BUDGET / ${#targets[@]} ))
[ "$share" -lt 5 ] && share=5
export ATELIER_FUZZ_TOKENIZERS="${ATELIER_FUZZ_TOKENIZERS:-$(cd .. && pwd)/shared/models/tokenizers}"
mkdir -p "$OUT/findings"
failed=0
for src in "${targets[@]}"; do
  name=$(basename "$src" .cpp)
  seeds="fuzz/corpus/${name%_fuzz}"
  work="$OUT/corpus/$name"  # new inputs land here, never in the committed seeds
  mkdir -p "$work"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  if "$OUT/$name" -max_total_time="$share" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$OUT/findings/$name-" -print_final_stats=0 "$work" >"$OUT/$name.log" 2>&1; then
    runs=$(grep -o 'Done [0-9]* runs' "$OUT/$name.log" | tail -1 || true)
    echo "fuzz: $name ok (${runs:-no stats}, ${share}s)"
  else
    echo "fuzz: $name FAILED; log $OUT/$name.log"
    tail -n 40 "$OUT/$name.log"
    failed=1
  fi
done
exit "$failed"
