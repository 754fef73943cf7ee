#!/usr/bin/env bash
# clang-tidy over every source file of src/ with the committed .clang-tidy
# (bugprone, performance, a few modernize checks, readability names), and
# Clang's thread-safety analysis (-Wthread-safety: GUARDED_BY, REQUIRES on the
# state mutexes protect, core/mutex.h) in the same pass. Any finding fails.
# The test command runs it; run it after a change:
#   scripts/tidy.sh              every file (needs build/compile_commands.json)
#   scripts/tidy.sh src/quota/   only the files under a path
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
[[ -f "$BUILD_DIR/compile_commands.json" ]] || { echo "tidy: run scripts/build.sh first" >&2; exit 2; }
RUN=${RUN_CLANG_TIDY:-$(command -v run-clang-tidy-14 || command -v run-clang-tidy)}
jobs=${ATELIER_TIDY_JOBS:-$(nproc)}
filter="^$(pwd)/${1:-src/}.*\\.cpp\$"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The GCC-only warning flag in the compile commands is unknown to Clang.
if ! "$RUN" -p "$BUILD_DIR" -j "$jobs" -quiet \
    -extra-arg=-Wthread-safety -extra-arg=-Wno-unknown-warning-option \
    "$filter" >"$log" 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "(error|warning):" | sort -u >&2 || cat "$log" >&2
  echo "tidy: findings above (fix them, or NOLINT one line with its reason)" >&2
  exit 1
fi
echo "tidy: $(grep -c '^clang-tidy' "$log" || true) files clean (clang-tidy + thread safety)"
