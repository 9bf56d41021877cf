#!/usr/bin/env bash
# bench.sh -- k2t's throughput, measured (never asserted in tests).
#   eval:  ResNet8 on 10,000 CIFAR-10 images (the 200 of ../shared repeated 50 times),
#          fast path, default threads, then one thread
#   run:   single-image latency with every activation kept (median of 200 runs)
set -u
cd "$(dirname "$0")/.."
SHARED=${K2T_SHARED:-../shared}
model=$SHARED/models/pretrainedResnet.h5
data=$SHARED/data/cifar10-ic200.bin
if [ ! -f "$model" ] || [ ! -f "$data" ]; then
  echo "bench: $SHARED/models/pretrainedResnet.h5 and $SHARED/data/cifar10-ic200.bin are needed"; exit 1
fi
mkdir -p build/bench
big=build/bench/cifar10k.bin
[ -f "$big" ] || for i in $(seq 50); do cat "$data"; done > "$big"
echo "k2t $(./k2t --version | cut -d' ' -f2) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for t in 0 1; do
  for rep in 1 2 3; do
    ./k2t --batch -c "set threads $t" -c "eval cifar $big" "$model" | grep -E '^eval:' | sed "s/^/threads=$t: /"
  done | sort -t'(' -k2 -n | tail -n 1
done
args=(); for i in $(seq 200); do args+=(-c run); done
./k2t --batch -c "input cifar $data 0" "${args[@]}" "$model" | grep -o 'in [0-9.]* ms' | awk '{print $2}' |
  sort -n | awk '{v[NR]=$1} END {printf "run (1 image, all activations kept): median %.3f ms, min %.3f ms over %d runs\n", v[int((NR+1)/2)], v[1], NR}'
