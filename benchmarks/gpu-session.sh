#!/usr/bin/env bash
# Everything a lent GPU machine should run, in one device call (the device tool allows 10 minutes a call; the steps' timeouts add up to 7m55s):
#   here:    bash benchmarks/gpu-pack.sh
#   device:  bash benchmarks/gpu-session.sh      (with carry [".gpu"]; results land under $OUT)
# 1. the whole test suite (the Cuda-category tests run now instead of reporting Ignored), 2. the GPU benchmark suite
# timed with CUDA events (writes gpu-results.md), 3. the device facts. Each step's output goes to its own file, so a
# failure in one step still leaves the others' results.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
export OUT
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
echo "== tests (Cuda category)"
timeout 200 bash .gpu/run.sh Engine.Tests --filter "TestCategory=Cuda" > "$OUT/cuda-tests.txt" 2>&1
echo "exit $?"; grep -E "total:|failed:|succeeded:|skipped:" "$OUT/cuda-tests.txt" || tail -5 "$OUT/cuda-tests.txt"
grep -E "^failed " "$OUT/cuda-tests.txt" | head -40
echo "== GPU benchmarks (CUDA events)"
timeout 200 bash .gpu/run.sh Engine.Benchmarks --gpu > "$OUT/gpu-bench.txt" 2>&1
echo "exit $?"; cat "$OUT/gpu-results.md" 2>/dev/null || tail -20 "$OUT/gpu-bench.txt"
echo "== the model training cases in this machine's PyTorch (same models, batches and step as ModelTrainingGpuBenchmarks)"
py=python3; [ -x /opt/torch/.venv/bin/python ] && py=/opt/torch/.venv/bin/python
timeout 60 "$py" benchmarks/models_torch.py --device cuda --classes 1000 \
  --cases resnet50:224:64,vgg16:224:64,alexnet:224:128,resnet18:224:128,efficientnet_b0:224:128,mobilenet_v2:224:128,densenet121:224:64,googlenet:224:128,r3d_18:112:8:16 \
  > "$OUT/torch-models.md" 2>&1
echo "exit $?"; cat "$OUT/torch-models.md"
echo "== deformable convolution in this machine's torchvision (same shape as DeformConvGpuBenchmarks)"
timeout 15 "$py" benchmarks/deform_conv_torch.py > "$OUT/torch-deform.md" 2>&1
echo "exit $?"; cat "$OUT/torch-deform.md"
