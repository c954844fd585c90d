#!/usr/bin/env bash
# Commits of bn-layers side by side in one JVM (org.bn4j.bench.Versions): BASE's build and this tree's, each in a
# class loader of its own, the same cases through each build's fused executor in turn, round after round. Unlike
# compare-paths.sh (one JVM per case and build), the comparison is not swamped by the speed this machine drifts by
# between JVMs. Cases are [LAYER:]SHAPE (LAYER a Catalog name, default bn); ROUNDS (default 20) and CALLS (200) from
# the environment. Each case runs in a JVM of its own. Prints per case and build the median call of each round and the
# median of the second half of the rounds (the first half is warm-up), with its ratio to BASE's.
# Run from the repository root after `mvn -B -q install -DskipTests`:
#   BASE=6b55261 bash bn-bench/scripts/compare-versions.sh ln:256x1024 bn:32x256x64
set -euo pipefail
: "${BASE:?set BASE=<commit> to compare this tree with}"
[ $# -gt 0 ] || set -- bn:256x1024 ln:256x1024 bn:32x256x64
root=$(pwd)
base=/tmp/bn4j-base-$BASE
if [ ! -d "$base" ]; then
  mkdir -p "$base" && git archive "$BASE" | tar -x -C "$base"
fi
(cd "$base" && mvn -B -q -pl bn-layers compile)
mvn -B -q -pl bn-layers,bn-bench compile
# the bench's class path without bn4j's own modules: every bn4j class comes from one of the two builds
mvn -B -q -pl bn-bench -Pbench dependency:build-classpath -Dmdep.outputFile=/tmp/bn4j-versions.cp >/dev/null
cp=$(tr ':' '\n' </tmp/bn4j-versions.cp | grep -v '/org/bn4j/' | paste -sd:)
threads=${THREADS:-2}
for c in "$@"; do
  echo "== $c, load $(cut -d' ' -f1-3 /proc/loadavg)"
  OMP_NUM_THREADS=$threads java --add-modules jdk.incubator.vector -Dbn4j.exec.threads="$threads" -Xms2g -Xmx2g \
    -cp "$root/bn-bench/target/classes:$cp" org.bn4j.bench.Versions "$base/bn-layers/target/classes,$root/bn-layers/target/classes" \
    "$c" "${ROUNDS:-20}" "${CALLS:-200}" 2>&1 | grep ' ms ('
done
