#!/usr/bin/env bash
# bench/store on SQLite and on a throwaway PostgreSQL 15 cluster (loopback,
# the same machine), in one run. Usage: bench/store/run.sh [build dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
dir=$(mktemp -d /tmp/atelier-bench-pg.XXXXXX)
chmod 755 "$dir"
trap 'scripts/pg-cluster.sh stop "$dir"' EXIT
url=$(scripts/pg-cluster.sh start "$dir" bench)
"$build/bench/bench_store" "$url"
