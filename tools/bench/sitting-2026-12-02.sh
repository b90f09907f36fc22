#!/bin/bash
# One quiet sitting: every timed figure of BENCHMARKS.md's third 2026-12-02 section (issues 14-17).
# Run from the repository root after `mvn -B -ntp package -DskipTests`, with /tmp/acc holding keras-notop.onnx
# (model.jar import), keras-notop-int8.onnx (model.jar quantize ... --method percentile) and head/model.onnx (the
# composed hymenoptera model); writes one JSON line per run to $1.
cd "$(dirname "$0")/../.."
S=../shared/data/hymenoptera
OUT=${1:-/tmp/bench/sitting.jsonl}
mkdir -p /tmp/bench; [ -x /tmp/bench/fc512 ] || gcc -O2 -march=native -pthread -o /tmp/bench/fc512 tools/bench/fma_ceiling.c
: > $OUT
log() { echo "$1 $2" | tee -a $OUT; }
log meta "{\"date\":\"$(date -u +%FT%TZ)\",\"flags\":\"$(grep -o -w -E 'fma|avx2|avx512f|avx512_vnni|avx_vnni|avx512_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')\",\"model\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)\"}"
log fma-ceiling-before "{\"raw\":\"$(/tmp/bench/fc512 2 2>&1 | tail -1)\"}"
BB="java -jar tools/target/bench.jar backbone --batch 8 --seconds 10"
for i in 1 2 3; do
  log int8-session "$($BB --backbone /tmp/acc/keras-notop-int8.onnx | tail -1)"
  log int8-lanes "$($BB --backbone /tmp/acc/keras-notop-int8.onnx --lanes 2 | tail -1)"
  log fp32-session "$($BB --backbone /tmp/acc/keras-notop.onnx | tail -1)"
  log fp32-lanes "$($BB --backbone /tmp/acc/keras-notop.onnx --lanes 2 | tail -1)"
done
for i in 1 2 3; do
  rm -rf /tmp/bench/c-int8
  log extract-int8 "$(java -jar tools/target/extract.jar --backbone /tmp/acc/keras-notop-int8.onnx --images $S/train --out /tmp/bench/c-int8 --json 2>/dev/null | tail -1)"
  log int8-session-b32 "$(java -jar tools/target/bench.jar backbone --backbone /tmp/acc/keras-notop-int8.onnx --batch 32 --seconds 10 | tail -1)"
  log int8-lanes-b32 "$(java -jar tools/target/bench.jar backbone --backbone /tmp/acc/keras-notop-int8.onnx --batch 32 --seconds 10 --lanes 2 | tail -1)"
  log pipeline-int8-lanes "$(java -jar tools/target/bench.jar backbone --backbone /tmp/acc/keras-notop-int8.onnx --batch 32 --seconds 10 --lanes 2 --images $S/train | tail -1)"
  log pipeline-int8-classic "$(java -jar tools/target/bench.jar backbone --backbone /tmp/acc/keras-notop-int8.onnx --batch 32 --seconds 10 --images $S/train | tail -1)"
done
for i in 1 2 3; do
  log serve "$(java -jar tools/target/bench.jar serve --model /tmp/acc/head/model.onnx --clients 16 --seconds 20 2>/dev/null | tail -1)"
done
log serve-overload "$(java -jar tools/target/bench.jar serve --model /tmp/acc/head/model.onnx --clients 64 --queue 4 --seconds 20 2>/dev/null | tail -1)"
for i in 1 2 3; do
  rm -rf /tmp/bench/tp; mkdir -p /tmp/bench/tp
  log extract-fp32 "$(java -jar tools/target/extract.jar --backbone /tmp/acc/keras-notop.onnx --images $S/train --out /tmp/bench/tp/cache --json 2>/dev/null | tail -1)"
  log spark "$(java -jar spark/target/spark-extract.jar --master 'local[2]' --backbone /tmp/acc/keras-notop.onnx --images $S/train --out /tmp/bench/tp/pq --json 2>/dev/null | tail -1)"
done
log fma-ceiling "{\"raw\":\"$(/tmp/bench/fc512 2 2>&1 | tail -1)\"}"
for i in 1 2 3; do
  log head-bench "$(java -jar tools/target/bench.jar head --rows 10000 --dim 2048 --hidden 512 --classes 10 --batch 64 2>/dev/null | tail -1)"
done
log fma-ceiling-after "{\"raw\":\"$(/tmp/bench/fc512 2 2>&1 | tail -1)\"}"
log end "{\"date\":\"$(date -u +%FT%TZ)\"}"
