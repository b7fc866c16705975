#!/bin/bash
# run from an empty folder; ENGINE: the built engine (dotnet build -c Release, then src/Cli/bin/Release/net10.0/engine)
E=${ENGINE:?set ENGINE to the engine binary}
C="--device cpu --workers 1"
for s in 0 1 2; do
  $E distill --teacher runs/teacher/s$s/best.safetensors --student lenet5 --labels-per-class 100 --epochs 15 --lr 0.01 --temperature 4 --alpha 0.7 --seed $s $C --output runs/distill-lr0.01/s$s | tail -1
  $E finetune --approach scratch --labels-per-class 100 --epochs 15 --lr 0.01 --seed $s $C --output runs/baseline-lr0.01/s$s | tail -1
done
