#!/usr/bin/env bash
# bench.sh -- k2t beside ONNX Runtime, one thread each (measured, never asserted in tests).
#   eval:  ResNet8 on 10,000 CIFAR-10 images (the 200 of ../shared repeated 50 times),
#          the others on random uint8 images and labels in .npy files (2,000 for vww_96,
#          320 at 224x224), k2t's streaming eval against ORT's batch-32 throughput on the
#          same count
#   run:   single-image latency, k2t with every activation kept (median of 200 runs)
#          against ORT at batch 1 (median of 200 runs); and k2t's on all the cores,
#          the image split between them (for information: the ratios are one thread each)
#   load:  k2t's process with the model loaded and nothing run, ORT's session creation
#   memory: k2t eval's peak resident set (/usr/bin/time -v)
# on the ResNet8, vww_96 (../shared) and two 224x224 models scripts/bench_models.py writes
# in the layout of Keras's MobileNetV2 and SqueezeNet 1.1 (random weights; ORT's batch-32
# throughput there over 320 images).
# The ONNX files are k2t's PyTorch port of the same weights (export pytorch), exported by
# torch.onnx from /usr/bin/python3 (Debian's torch); ORT is onnxruntime-node installed
# under build/bench/ort with npm --ignore-scripts, for this benchmark only.  Each figure is
# the best of 3, k2t and ORT alternating; ratios > 1 mean k2t is faster.
set -u
cd "$(dirname "$0")/.."
SHARED=${K2T_SHARED:-../shared}
data=$SHARED/data/cifar10-ic200.bin
B=build/bench
mkdir -p "$B"
if [ ! -f "$data" ]; then echo "bench: $data is needed"; exit 1; fi
big=$B/cifar10k.bin
[ -f "$big" ] || for i in $(seq 50); do cat "$data"; done > "$big"
echo "k2t $(./k2t --version | cut -d' ' -f2) on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), one thread each"

ort=0
if [ ! -d $B/ort/node_modules/onnxruntime-node ] && command -v npm >/dev/null; then
  mkdir -p $B/ort && cp scripts/ort/package.json $B/ort/ &&
    (cd $B/ort && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
fi
[ -d $B/ort/node_modules/onnxruntime-node ] && command -v node >/dev/null && ort=1
[ $ort = 1 ] || echo "bench: no onnxruntime-node under $B/ort (npm install --ignore-scripts there): k2t alone"

# onnx NAME MODEL C H W: build/bench/NAME.onnx from k2t's PyTorch port.
onnx() {
  local name=$1 model=$2
  [ -f $B/$name.onnx ] && [ $B/$name.onnx -nt "$model" ] && return 0
  ./k2t --batch -c "export pytorch $B/$name.py --force" "$model" >/dev/null &&
    /usr/bin/python3 scripts/bench_onnx.py $B/$name.py $B/$name.onnx "$3" "$4" "$5" >/dev/null 2>&1
}
best_max() { sort -g | tail -n 1; }
best_min() { sort -g | head -n 1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx", a / b; else printf "n/a" }'; }

k2t_run1() { # median ms of 200 kept runs (threads: $3, default 1)
  local args=(); for i in $(seq 200); do args+=(-c run); done
  ./k2t --batch -c "set threads ${3:-1}" -c "$2" "${args[@]}" "$1" | grep -o 'in [0-9.]* ms' | awk '{print $2}' |
    sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
k2t_newin() { # median ms of 50 runs, each after a new input of the same shape
  local args=(); for i in $(seq 50); do
    if [ $2 = cifar ]; then args+=(-c "input cifar $data $i"); else args+=(-c "input random $i"); fi
    args+=(-c run); done
  ./k2t --batch -c "set threads 1" "${args[@]}" "$1" | grep -o 'in [0-9.]* ms' | awk '{print $2}' |
    sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
k2t_eval() { # images/s, one thread: the CIFAR file, or NAME_x.npy/NAME_y.npy (uint8 pixels, labels)
  if [ "$2" = cifar ]; then
    ./k2t --batch -c "set threads 1" -c "eval cifar $big" "$1" | grep -o '([0-9]* images/s)' | tr -dc '0-9'
  else
    ./k2t --batch -c "set threads 1" -c "eval $B/$3_x.npy $B/$3_y.npy" "$1" | grep -o '([0-9]* samples/s)' | tr -dc '0-9'
  fi
}
evalset() { # NAME C H W N: N random uint8 images and labels, written once
  [ -f $B/$1_x.npy ] && [ -f $B/$1_y.npy ] && return 0
  /usr/bin/python3 -c "import numpy as np, sys; r = np.random.RandomState(5); n = int(sys.argv[5]); \
np.save(sys.argv[1] + '_x.npy', r.randint(0, 256, (n, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[2]))).astype(np.uint8)); \
np.save(sys.argv[1] + '_y.npy', r.randint(0, 2, n).astype(np.int64))" "$B/$1" "$2" "$3" "$4" "$5"
}
k2t_load() { # ms: the process with the model loaded, nothing run
  local s e; s=$(date +%s%N); ./k2t --batch "$1" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 )) | awk '{print $1 / 1000}'
}

[ -f $B/mobilenet_v2_224.h5 ] && [ -f $B/squeezenet_224.h5 ] ||
  /usr/bin/python3 scripts/bench_models.py $B >/dev/null 2>&1 || echo "bench: no 224x224 models (scripts/bench_models.py needs /usr/bin/python3 with numpy and h5py)"

for spec in "resnet8 $SHARED/models/pretrainedResnet.h5 3 32 32 cifar 10000" \
            "vww_96 $SHARED/models/vww_96.h5 3 96 96 random 2000" \
            "mobilenet_v2_224 $B/mobilenet_v2_224.h5 3 224 224 random 320" \
            "squeezenet_224 $B/squeezenet_224.h5 3 224 224 random 320"; do
  set -- $spec
  name=$1 model=$2 c=$3 h=$4 w=$5 kind=$6 images=$7
  [ -f "$model" ] || { echo "$name: $model missing"; continue; }
  if [ $kind = cifar ]; then inp="input cifar $data 0"; else inp="input random"; evalset $name $c $h $w $images; fi
  have_onnx=0
  [ $ort = 1 ] && onnx $name "$model" $c $h $w && have_onnx=1
  kr=(); ke=(); kl=(); oj=(); kn=(); km=()
  for rep in 1 2 3; do
    kr+=("$(k2t_run1 "$model" "$inp")")
    km+=("$(k2t_run1 "$model" "$inp" "$(nproc)")")
    kn+=("$(k2t_newin "$model" $kind)")
    ke+=("$(k2t_eval "$model" $kind $name)")
    kl+=("$(k2t_load "$model")")
    [ $have_onnx = 1 ] && oj+=("$(node scripts/bench_ort.js $B/$name.onnx $c $h $w $images)")
  done
  k_run=$(printf '%s\n' "${kr[@]}" | best_min)
  k_runm=$(printf '%s\n' "${km[@]}" | best_min)
  k_load=$(printf '%s\n' "${kl[@]}" | best_min)
  k_new=$(printf '%s\n' "${kn[@]}" | best_min)
  k_eval=$(printf '%s\n' "${ke[@]}" | best_max)
  if [ $kind = cifar ]; then ev="eval cifar $big"; else ev="eval $B/${name}_x.npy $B/${name}_y.npy"; fi
  k_mem=$( { /usr/bin/time -v ./k2t --batch -c "set threads 1" -c "$ev" "$model" >/dev/null; } 2>&1 |
           awk '/Maximum resident/ {printf "%.1f", $NF / 1024}')
  o_run=0 o_thr=0 o_load=0
  if [ $have_onnx = 1 ]; then
    o_run=$(printf '%s\n' "${oj[@]}" | grep -o '"run1_median_ms":[0-9.e-]*' | cut -d: -f2 | best_min)
    o_thr=$(printf '%s\n' "${oj[@]}" | grep -o '"batch32_images_per_s":[0-9.e-]*' | cut -d: -f2 | best_max)
    o_load=$(printf '%s\n' "${oj[@]}" | grep -o '"load_ms":[0-9.e-]*' | cut -d: -f2 | best_min)
  fi
  echo "$name ($h x $w):"
  printf "  eval throughput   k2t %8.0f images/s   ORT batch 32 %8.0f images/s   k2t/ORT %s  (%s)\n" "$k_eval" "$o_thr" \
    "$(ratio "$k_eval" "$o_thr")" "$([ $kind = cifar ] && echo "CIFAR file" || echo "$images images from .npy")"
  printf "  eval peak memory  k2t %8s MiB\n" "$k_mem"
  printf "  run, 1 image      k2t %8.3f ms (all kept)  ORT batch 1 %8.3f ms       ORT/k2t %s\n" "$k_run" "$o_run" "$(ratio "$o_run" "$k_run")"
  printf "  run after a new input (same shape)  k2t %8.3f ms\n" "$k_new"
  printf "  run, 1 image, %d threads (the image split between them)  k2t %8.3f ms  (%s of one thread's time)\n" \
    "$(nproc)" "$k_runm" "$(ratio "$k_runm" "$k_run")"
  printf "  load              k2t %8.1f ms (process)   ORT session %8.1f ms\n" "$k_load" "$o_load"
done
