#!/usr/bin/env bash
# bn4j's fused and unfused executors side by side (and, with BASE=<commit>, the library as it was at that commit),
# one LayerLoop of 5 s per case and path, interleaved, repeated REPS times; prints each run's median and 10th
# percentile and the load average before each case.
# Run from the repository root after `mvn -B -q install -DskipTests`:
#   bash bn-bench/scripts/compare-paths.sh                       # the default cases
#   BASE=64e36d6 REPS=2 bash bn-bench/scripts/compare-paths.sh 'bn|bn4j|4096x1024'
set -euo pipefail
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=('bn|bn4j|256x1024' 'bn|bn4j|4096x1024' 'bn|bn4j|64x64x32x32'
  'ln|bn4j|4096x1024' 'lp1|bn4j|256x1024' 'ghost|bn4j|4096x1024')
root=$(pwd)
repo=$(mvn -B -q -Dstyle.color=never help:evaluate -Dexpression=settings.localRepository -DforceStdout 2>/dev/null | sed "s/\x1b\[[0-9;]*m//g" || echo "$HOME/.m2/repository")
if [ -n "${BASE:-}" ]; then
  base=/tmp/bn4j-base-$BASE
  if [ ! -d "$base" ]; then
    mkdir -p "$base" && git archive "$BASE" | tar -x -C "$base"
  fi
fi
loop() {  # loop DIR CASE JVM-OPTIONS
  (cd "$1" && mvn -B -q -o -Dmaven.repo.local="$repo" -pl bn-bench -am -DskipTests -Pbench verify \
    -Dbench.main=org.bn4j.bench.LayerLoop -Dbench.args="'$2' 5" -Dbench.jvm="$3" 2>&1 | grep ' calls in ')
}
for rep in $(seq 1 "${REPS:-1}"); do
  for c in "${cases[@]}"; do
    echo "== $c (round $rep), load $(cut -d' ' -f1-3 /proc/loadavg)"
    [ -n "${BASE:-}" ] && loop "$base" "$c" "" | sed "s/^/base $BASE: /"
    loop "$root" "$c" "-Dbn4j.exec=unfused" | sed 's/^/unfused: /'
    loop "$root" "$c" "-Dbn4j.exec=fused" | sed 's/^/fused:   /'
  done
done
