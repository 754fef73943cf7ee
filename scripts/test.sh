#!/usr/bin/env bash
# Command (2): install what is needed, check the C++ format and the layering,
# build, run clang-tidy with Clang's thread-safety analysis over src/
# (scripts/tidy.sh), and run the whole test suite:
# the libFuzzer targets for a bounded budget (ATELIER_FUZZ_SECONDS, default
# 180 in all; ASan + UBSan), then GoogleTest unit and golden tests and
# black-box HTTP tests against the real binary (node's test runner), under
# ctest, with a throwaway PostgreSQL cluster for the second backend.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/format.sh --check
scripts/check-layers.sh
scripts/build.sh
scripts/tidy.sh
scripts/fuzz.sh "${ATELIER_FUZZ_SECONDS:-180}"
# A throwaway PostgreSQL 15 cluster: the repositories' conformance suites and
# the accounts, quotas, search and design HTTP suites run on it too.
pg_dir=$(mktemp -d /tmp/atelier-pg.XXXXXX)
chmod 755 "$pg_dir"
trap 'scripts/pg-cluster.sh stop "$pg_dir"' EXIT
ATELIER_TEST_POSTGRES_URL=$(scripts/pg-cluster.sh start "$pg_dir")
export ATELIER_TEST_POSTGRES_URL ATELIER_REQUIRE_POSTGRES=1
# Redis: the shared limits run against a real redis-server (unit tests start their own).
export ATELIER_REQUIRE_REDIS=1
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900 -j2 "$@")
