#!/usr/bin/env bash
# Command (2): install what is needed, check the C++ format, build, and run
# the whole test suite:
# the libFuzzer targets for a bounded budget (ATELIER_FUZZ_SECONDS, default
# 180 in all; ASan + UBSan), then GoogleTest unit and golden tests and
# black-box HTTP tests against the real binary (node's test runner), under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/format.sh --check
scripts/build.sh
scripts/fuzz.sh "${ATELIER_FUZZ_SECONDS:-180}"
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j2 "$@"
