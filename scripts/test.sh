#!/usr/bin/env bash
# Command (2): install what is needed, build, and run the whole test suite:
# GoogleTest unit and golden tests, then black-box HTTP tests against the real
# binary (node's test runner), all under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j2 "$@"
