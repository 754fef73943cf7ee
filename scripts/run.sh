#!/usr/bin/env bash
# Command (1): install what is needed, build, and start `atelier serve` on its
# embedded defaults (SQLite under ./data, in-process cache, models from the
# models dir, ../shared/models when it is beside the checkout) on 127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/atelier serve "$@"
