#!/usr/bin/env bash
# Times batch norm and layer norm (bn4j and DL4J) and the training-throughput networks with each ND4J CPU build,
# one build after another, 2 threads, and writes bn-bench/target/backends.csv (layer,shape,engine,pass,median_ms,build).
# Run from the repository root after `mvn -B -q install -DskipTests`:  bash bn-bench/scripts/compare-backends.sh
# The avx512 builds need a CPU with AVX-512; builds the CPU cannot run are reported and skipped.
set -euo pipefail
builds=${BUILDS:-"linux-x86_64 linux-x86_64-avx2 linux-x86_64-onednn linux-x86_64-onednn-avx2 linux-x86_64-avx512 linux-x86_64-onednn-avx512"}
include=${INCLUDE:-'^(bn|ln)\|(bn4j|dl4j)\||^train'}
out=bn-bench/target/backends.csv
mkdir -p bn-bench/target
echo "layer,shape,engine,pass,median_ms,build" > "$out"
for b in $builds; do
  if [[ $b == *avx512* ]] && ! grep -q avx512f /proc/cpuinfo; then
    echo "skipping $b: this CPU has no AVX-512" >&2
    continue
  fi
  csv=target/backend-$b.csv
  mvn -B -q -pl bn-bench -DskipTests -Pbench verify -Dnd4j.classifier="$b" \
      -Dbench.args="--skip-copy --jmh 0,2,500,4,500 --include '$include' --csv $csv"
  tail -n +2 "bn-bench/$csv" | sed "s/\$/,$b/" >> "$out"
  if [ -f "bn-bench/target/backend-$b-train.csv" ]; then
    tail -n +2 "bn-bench/target/backend-$b-train.csv" | awk -F, -v b="$b" '{print "train_" $1 ",batch" $2 ",net,fit," $3 "," b}' >> "$out"
  fi
done
echo "wrote $out"
