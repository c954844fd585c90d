package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.BatchNorm;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Where the fused executor should block [N,C] batch norm by columns: the layer's training forward+backward (fused
 * path, workspaces as in {@code fit}) planned with {@code -Dbn4j.exec.minRun} at a given value (blocked by columns if
 * each thread's block keeps rows of at least that many elements) against the default, interleaved round by round in
 * one JVM, medians and the ratio reported. Each layer plans its graphs on its first call, so the property is set only
 * around that call.
 *
 * <pre>
 *   ColumnBlocking [ROUNDS [MIN_RUN [SHAPE...]]]      default 15 rounds, MIN_RUN 512, shapes 256x1024 1024x1024 256x2048 64x4096
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.ColumnBlocking -Dbench.args="50 512"
 * </pre>
 * Threads: the executor's ({@code -Dbn4j.exec.threads}, by default {@code OMP_NUM_THREADS}, which the bench profiles
 * set to 2); the output states them and the load.
 */
public final class ColumnBlocking {
    private static final String MIN_RUN = "bn4j.exec.minRun";

    private ColumnBlocking() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        String minRun = args.length > 1 ? args[1] : "512";
        List<String> shapes = args.length > 2 ? List.of(args).subList(2, args.length)
                : List.of("256x1024", "1024x1024", "256x2048", "64x4096");
        System.out.printf(Locale.ROOT, "threads: bn4j.exec.threads=%s, OMP_NUM_THREADS=%s; load average at start %s%n",
                System.getProperty("bn4j.exec.threads"), System.getenv("OMP_NUM_THREADS"), CoreProfile.loadAverage());
        Map<String, Runnable[]> pairs = new LinkedHashMap<>();
        for (String s : shapes) {
            Shape shape = Shape.parse(s);
            pairs.put("BatchNorm " + s, new Runnable[]{planned(shape, minRun), planned(shape, null)});
        }
        System.out.printf(Locale.ROOT, "%n== float32, fused training forward+backward per call (%d rounds of 10 calls, interleaved)%n", rounds);
        CoreProfile.pairs(pairs, "minRun=" + minRun, "default", rounds, 10);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    /** A layer's fused forward+backward, its graphs planned with the property at {@code minRun} (null: unset). */
    private static Runnable planned(Shape shape, String minRun) {
        Dl4jLayerKernel k = new Dl4jLayerKernel(() -> new BatchNorm.Builder().build(), shape);
        Runnable r = () -> CompiledGraph.withPath(CompiledGraph.Path.FUSED, k::fwdbwd);
        String before = System.getProperty(MIN_RUN);
        try {
            if (minRun == null) System.clearProperty(MIN_RUN);
            else System.setProperty(MIN_RUN, minRun);
            r.run();
        } finally {
            if (before == null) System.clearProperty(MIN_RUN);
            else System.setProperty(MIN_RUN, before);
        }
        return r;
    }
}
