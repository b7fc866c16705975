#!/bin/bash
# Recipe experiments: LeNet-5, embedded Fashion-MNIST subset, 100 labels/class, 3 seeds.
# run from an empty folder; ENGINE: the built engine (dotnet build -c Release, then src/Cli/bin/Release/net10.0/engine)
E=${ENGINE:?set ENGINE to the engine binary}
C="--device cpu --workers 1"
for s in 0 1 2; do
  $E finetune --approach scratch --labels-per-class 100 --epochs 15 --seed $s $C --output runs/baseline/s$s | tail -1
  $E pseudo-label --labels-per-class 100 --epochs 15 --threshold 0.95 --ramp-final 1 --ramp-start 2 --ramp-end 8 --seed $s $C --output runs/pseudo/s$s | tail -2
  $E knn --labels-per-class 100 --metric l2 --seed $s $C --output runs/knn-pixels/s$s | tail -1
  $E knn --checkpoint runs/baseline/s$s/best.safetensors --labels-per-class 100 --metric cosine --seed $s $C --output runs/knn-features/s$s | tail -1
done
for s in 0 1 2; do
  $E finetune --approach scratch --labels-per-class 0 --epochs 15 --seed $s $C --output runs/teacher/s$s | tail -1
  $E distill --teacher runs/teacher/s$s/best.safetensors --student lenet5 --labels-per-class 100 --epochs 15 --temperature 4 --alpha 0.7 --seed $s $C --output runs/distill/s$s | tail -1
done
for s in 0 1 2; do
  $E finetune --approach scratch --classes 0,1,2,3,4 --labels-per-class 0 --epochs 10 --seed $s $C --output runs/source/s$s | tail -1
  for a in scratch head full; do
    W=""; [ $a != scratch ] && W="--weights runs/source/s$s/best.safetensors"
    $E finetune --approach $a $W --classes 5,6,7,8,9 --labels-per-class 20 --epochs 15 --seed $s $C --output runs/transfer-$a/s$s | tail -1
  done
done
for s in 0 1 2; do
  $E noisy-student --iterations 2 --labels-per-class 100 --epochs 10 --seed $s $C --output runs/noisy/s$s | grep -E "^iteration [0-9].*test|error"
done
