#!/usr/bin/env bash
# Packs what benchmarks/gpu-session.sh runs on a lent GPU machine into .gpu/ (git-ignored), small enough for the device
# tool's 64 MiB carry limit: the test and benchmark apps only (not the CLI), without the parts those runs never load
# (SkiaSharp/HarfBuzz natives used only for PNG plots; BenchmarkDotNet's disassembler, Roslyn and ETW parts, which
# the --gpu suite does not touch because it runs before BenchmarkDotNet starts).
#   bash benchmarks/gpu-pack.sh      then on the device (carry [".gpu"]):   bash benchmarks/gpu-session.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/gpu/pack.sh tests/Engine.Tests/Engine.Tests.csproj benchmarks/Engine.Benchmarks/Engine.Benchmarks.csproj
rm -rf .gpu/Engine.Cli
rm -f .gpu/Engine.Tests/libSkiaSharp.so .gpu/Engine.Tests/libHarfBuzzSharp.so
( cd .gpu/Engine.Benchmarks && rm -rf amd64 libcapstone.so Gee.External.Capstone.dll Iced.dll Microsoft.CodeAnalysis*.dll \
    Microsoft.Diagnostics.Tracing.TraceEvent.dll Microsoft.Diagnostics.Runtime.dll )
du -sh .gpu | awk '{print "packed for the GPU session: .gpu is " $1 " (limit 64 MiB)"}'
