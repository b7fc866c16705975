#!/usr/bin/env bash
# Registers, shared memory and spills of every hand-written PTX kernel, as `ptxas -v` reports them for sm_80 and
# sm_90 (CUDA 11.8 ptxas; .ci/run extracts one into ~/.cache/engine-ptxas). Usage: bash benchmarks/ptxas-report.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PTXAS=${PTXAS:-$(command -v ptxas || echo "$HOME/.cache/engine-ptxas/usr/bin/ptxas")}
[ -x "$PTXAS" ] || { echo "ptxas not found (run .ci/run once, or set PTXAS)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in src/Kernels/Gpu/Kernels/*.ptx; do
  for arch in sm_80 sm_90; do
    echo "== $(basename "$f") ($arch)"
    "$PTXAS" -v -arch=$arch "$f" -o "$tmp/out.cubin" 2>&1 | sed -n "s/^ptxas info    : //p" \
      | awk '/Compiling entry/ {gsub(/[\x27]/,""); k=$4} /Used/ {print "  " k ": " $0} /spill/ && !/0 bytes spill stores, 0 bytes spill loads/ {print "  " k ": SPILLS: " $0}'
  done
done
