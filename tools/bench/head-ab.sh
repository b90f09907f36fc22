#!/bin/bash
# Alternating A/B runs of the head-training benchmark (issue 17's command), as BENCHMARKS.md's fourth 2026-12-02
# sitting ran them. A and B are folders each holding a bench.jar with its lib/ (copy tools/target/bench.jar and
# tools/target/lib of each build there). N pairs with the kernels a user without OPENBLAS_CORETYPE gets (the machine's
# OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset in that command alone), then M pairs with the environment as it is.
# Usage: tools/bench/head-ab.sh A_DIR B_DIR N M
set -u
A=$1; B=$2; N=$3; M=$4
CMD=(head --rows 10000 --dim 2048 --hidden 512 --classes 10 --batch 64)
FIELDS='"seconds_per_epoch":[0-9.]*\|"forward_backward_ms_per_step":[0-9.]*\|"update_ms_per_step":[0-9.]*\|"blas_kernels":"[A-Za-z]*"'
for _ in $(seq "$N"); do
  for v in "$A" "$B"; do
    echo -n "$v default "
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE java -jar "$v/bench.jar" "${CMD[@]}" 2>/dev/null | tail -1 \
      | grep -o "$FIELDS" | tr '\n' ' '
    echo
  done
done
for _ in $(seq "$M"); do
  for v in "$A" "$B"; do
    echo -n "$v environment "
    java -jar "$v/bench.jar" "${CMD[@]}" 2>/dev/null | tail -1 | grep -o "$FIELDS" | tr '\n' ' '
    echo
  done
done
