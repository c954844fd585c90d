package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.layers.Catalog;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One setting of the fused executor against its default: a layer's training forward+backward (fused path, workspaces
 * as in {@code fit}) with the system property {@code bn4j.exec.NAME} at a given value around every call, the first
 * one (which plans the graphs, so settings read when planning apply too) included, against the same layer with the
 * property unset, interleaved round by round (CALLS calls of one, then of the other) in one JVM, medians of the
 * rounds' mean times per call and the ratio reported.
 *
 * <pre>
 *   ExecutorSetting NAME VALUE [ROUNDS [CALLS [[LAYER:]SHAPE...]]]   default 15 rounds of 10 calls, bn:256x1024 bn:4096x1024
 *   mvn -B -pl bn-bench -am -DskipTests -Pbench verify -Dbench.main=org.bn4j.bench.ExecutorSetting \
 *       -Dbench.args="minRun 512 50 10 256x1024 1024x1024 256x2048 64x4096"
 * </pre>
 * LAYER is a name of the library's {@link Catalog} ({@code bn}, the default, {@code ln}, {@code ghost}, ...).
 * Threads: the executor's ({@code -Dbn4j.exec.threads}, by default {@code OMP_NUM_THREADS}, which the bench profiles
 * set to 2); the output states them and the load.
 */
public final class ExecutorSetting {

    private ExecutorSetting() {
    }

    public static void main(String[] args) {
        if (args.length < 2) throw new IllegalArgumentException("usage: ExecutorSetting NAME VALUE [ROUNDS [CALLS [[LAYER:]SHAPE...]]]");
        String property = "bn4j.exec." + args[0], value = args[1];
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 15;
        int calls = args.length > 3 ? Integer.parseInt(args[3]) : 10;
        List<String> cases = args.length > 4 ? List.of(args).subList(4, args.length) : List.of("bn:256x1024", "bn:4096x1024");
        System.out.printf(Locale.ROOT, "threads: bn4j.exec.threads=%s, OMP_NUM_THREADS=%s; load average at start %s%n",
                System.getProperty("bn4j.exec.threads"), System.getenv("OMP_NUM_THREADS"), CoreProfile.loadAverage());
        Map<String, Runnable[]> pairs = new LinkedHashMap<>();
        for (String c : cases) {
            String layer = c.contains(":") ? c.substring(0, c.indexOf(':')) : "bn";
            Shape shape = Shape.parse(c.substring(c.indexOf(':') + 1));
            pairs.put(layer + " " + shape, new Runnable[]{fused(layer, shape, property, value), fused(layer, shape, property, null)});
        }
        System.out.printf(Locale.ROOT, "%n== float32, fused training forward+backward per call (%d rounds of %d calls, interleaved)%n", rounds, calls);
        CoreProfile.pairs(pairs, args[0] + "=" + value, "default", rounds, calls);
        System.out.printf(Locale.ROOT, "load average at end %s%n", CoreProfile.loadAverage());
    }

    /** A layer's fused forward+backward with the property at {@code value} (null: unset) around each call. */
    private static Runnable fused(String layer, Shape shape, String property, String value) {
        Dl4jLayerKernel k = new Dl4jLayerKernel(() -> Catalog.get(layer).create(), shape);
        return () -> {
            String before = System.getProperty(property);
            try {
                if (value == null) System.clearProperty(property);
                else System.setProperty(property, value);
                CompiledGraph.withPath(CompiledGraph.Path.FUSED, k::fwdbwd);
            } finally {
                if (before == null) System.clearProperty(property);
                else System.setProperty(property, before);
            }
        };
    }
}
