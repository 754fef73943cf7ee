#!/usr/bin/env bash
# Native encoders vs libtorch 1.13 (Debian) on full-size MiniLM-L6 and CLIP
# ViT-B/32 (random weights, the same for both), batch 1 and 8.
# Three thread settings: one thread each; every core for OpenBLAS with
# libtorch's intra-op pool at 1 (its fastest here: both pools at full size
# oversubscribe the cores); and libtorch's default (both pools at every core).
# usage: bench/encoders/run.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD="${1:-build}"
DIR="$BUILD/fixtures/encoders-full"
if [ ! -s "$DIR/bench_inputs.json" ]; then
  echo "writing full-size checkpoints and TorchScript twins into $DIR (about 2.5 GB)"
  /usr/bin/python3 tools/make-transformer-fixtures.py "$DIR" --full 2>/dev/null
fi
N="$(nproc)"
"$BUILD/bench/bench_encoders" "$DIR" --threads 1 --torch-intraop 1 --rounds 3 --iters 10
echo
"$BUILD/bench/bench_encoders" "$DIR" --threads "$N" --torch-intraop 1 --rounds 3 --iters 10
echo
"$BUILD/bench/bench_encoders" "$DIR" --threads "$N" --torch-intraop "$N" --rounds 3 --iters 10
