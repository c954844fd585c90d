package org.bn4j.bench;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.core.Layout;
import org.bn4j.core.NormCore;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.Catalog;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Per-op profile of the core's executor on a layer's graphs, outside JMH: every step timed over rounds of
 * calls, medians reported.
 *
 * <pre>
 *   CoreProfile [ROUNDS] [[LAYER:]SHAPE...]   per-op profile of the forward and backward graphs (float32)
 * </pre>
 * LAYER is a name of the library's {@link Catalog} ({@code bn}, the default, {@code lp1}, {@code lpinf}, {@code ghost},
 * {@code ln}, {@code gn}, {@code rms}, ...), e.g. {@code CoreProfile 15 lpinf:4096x1024}.
 * {@link LayerTiming} times whole layers.
 * Threads come from the environment (OMP_NUM_THREADS for ND4J, -Dai.djl.pytorch.num_threads for PyTorch); run it
 * the way the bench runs (see bn-bench/pom.xml) and state them.
 */
public final class CoreProfile {

    private static final List<String> DEFAULT_SHAPES =
            List.of("256x1024", "4096x1024", "64x64x32x32", "32x128x28x28", "32x256x64");

    private CoreProfile() {
    }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        List<String> shapes = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : DEFAULT_SHAPES;
        System.out.printf(Locale.ROOT, "threads: OMP_NUM_THREADS=%s, pytorch %s; load average at start %s%n",
                System.getenv("OMP_NUM_THREADS"), System.getProperty("ai.djl.pytorch.num_threads"), loadAverage());
        for (String s : shapes) {
            int colon = s.indexOf(':');
            ops(colon < 0 ? "bn" : s.substring(0, colon), Shape.parse(s.substring(colon + 1)), rounds);
        }
        System.out.printf(Locale.ROOT, "load average at end %s%n", loadAverage());
    }

    // ------------------------------------------------------------------ per-op profile

    /** The 4-D view of InputView: [N,C] → [N,1,C,1], NCHW → [N,1,C,HW], NCW → [N,1,C,T]. */
    static long[] view(Shape s) {
        long[] d = s.dims();
        return switch (d.length) {
            case 2 -> new long[]{d[0], 1, d[1], 1};
            case 3 -> new long[]{d[0], 1, d[1], d[2]};
            case 4 -> new long[]{d[0], 1, d[1], d[2] * d[3]};
            default -> throw new IllegalArgumentException("shape " + s);
        };
    }

    static AbstractNormLayer layer(String name) {
        return Catalog.get(name).create();
    }

    static void ops(String name, Shape shape, int rounds) {
        AbstractNormLayer conf = layer(name);
        long[] view = view(shape);
        long[] seg = conf.segments(view[0])[0];
        view[0] = seg[1] - seg[0];
        Layout layout = conf.layout(view, null, (int) seg[2], shape.rank() == 3).simplify();
        NormCore.Graphs g = NormCore.graphs(conf.normSpec(), layout, DataType.FLOAT);
        Nd4j.getRandom().setSeed(1);
        Map<String, INDArray> in = new HashMap<>();
        in.put(NormCore.X, Nd4j.randn(DataType.FLOAT, layout.shape()));
        in.put(NormCore.GAMMA, Nd4j.rand(DataType.FLOAT, layout.paramShape()).addi(0.5));
        in.put(NormCore.BETA, Nd4j.randn(DataType.FLOAT, layout.paramShape()));
        INDArray y = Nd4j.create(DataType.FLOAT, layout.shape());
        Map<String, INDArray> fo = g.train().run(in, Map.of(NormCore.Y, y));
        Map<String, INDArray> bin = new HashMap<>(in);
        bin.putAll(fo);          // the forward's state: mean, v, and the statistic's own
        bin.remove(NormCore.Y);
        bin.put(NormCore.DY, Nd4j.randn(DataType.FLOAT, layout.shape()));
        INDArray dx = Nd4j.create(DataType.FLOAT, layout.shape());
        g.backward().run(bin, Map.of(NormCore.DX, dx));
        System.out.printf(Locale.ROOT, "%n== %s %s (first segment), layout %s, float32, outputs into preallocated arrays%n",
                name, shape, layout);
        profile("forward", g.train(), in, Map.of(NormCore.Y, y), rounds);
        profile("backward", g.backward(), bin, Map.of(NormCore.DX, dx), rounds);
        System.out.printf(Locale.ROOT, "-- intermediate buffers held (forward and backward share them): %.1f MiB"
                + " (input %.1f MiB)%n", g.train().scratchBytes() / 1048576.0, shape.bytes() / 1048576.0);
    }

    private static void profile(String name, CompiledGraph graph, Map<String, INDArray> in, Map<String, INDArray> into,
                                int rounds) {
        List<String> labels = graph.stepLabels();
        int inner = 5;
        long[][] perRound = new long[rounds][];
        double[] totals = new double[rounds];
        for (int i = 0; i < 3; i++) graph.run(in, into);
        for (int r = 0; r < rounds; r++) {
            long[] ns = new long[labels.size()];
            long t0 = System.nanoTime();
            for (int i = 0; i < inner; i++) graph.runProfiled(in, into, ns);
            totals[r] = (System.nanoTime() - t0) / 1e6 / inner;
            perRound[r] = ns;
        }
        double total = median(totals);
        System.out.printf(Locale.ROOT, "-- %s: median %.3f ms per call (%d rounds x %d calls); per step, median ms:%n",
                name, total, rounds, inner);
        double sum = 0;
        for (int k = 0; k < labels.size(); k++) {
            double[] v = new double[rounds];
            for (int r = 0; r < rounds; r++) v[r] = perRound[r][k] / 1e6 / inner;
            double m = median(v);
            sum += m;
            System.out.printf(Locale.ROOT, "   %7.3f  %5.1f%%  %s%n", m, 100 * m / total, labels.get(k));
        }
        System.out.printf(Locale.ROOT, "   %7.3f          sum of step medians (rest: executor overhead)%n", sum);
    }

    /** Runs every job {@code inner} times per round, jobs interleaved, and returns the median per call. */
    static Map<String, Double> time(Map<String, Runnable> jobs, int rounds, int inner) {
        Map<String, Double> out = new LinkedHashMap<>();
        times(jobs, rounds, inner).forEach((k, v) -> out.put(k, median(v)));
        return out;
    }

    /** Runs every job {@code inner} times per round, jobs interleaved; the time per call of every round. */
    static Map<String, double[]> times(Map<String, Runnable> jobs, int rounds, int inner) {
        for (Runnable r : jobs.values()) for (int i = 0; i < 3; i++) r.run();
        Map<String, List<Double>> t = new LinkedHashMap<>();
        for (int r = 0; r < rounds; r++) {
            for (Map.Entry<String, Runnable> e : jobs.entrySet()) {
                // outputs without workspaces are fresh native arrays, freed only after a GC: collect between
                // measurements (untimed) so that native memory stays bounded
                System.gc();
                long t0 = System.nanoTime();
                for (int i = 0; i < inner; i++) e.getValue().run();
                t.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add((System.nanoTime() - t0) / 1e6 / inner);
            }
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        t.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        return out;
    }

    /**
     * A/B timing: for each case the two jobs {@code a} and {@code b} (labelled {@code aName}, {@code bName}), all
     * interleaved round by round ({@link #times}); prints the median and p10 ms per call of each and the ratio of the
     * medians a / b per case.
     */
    static void pairs(Map<String, Runnable[]> cases, String aName, String bName, int rounds, int inner) {
        Map<String, Runnable> jobs = new LinkedHashMap<>();
        cases.forEach((name, ab) -> {
            jobs.put(name + " " + aName, ab[0]);
            jobs.put(name + " " + bName, ab[1]);
        });
        Map<String, double[]> t = times(jobs, rounds, inner);
        int w = jobs.keySet().stream().mapToInt(String::length).max().orElse(10);
        System.out.printf(Locale.ROOT, "   %-" + w + "s %10s %10s%n", "", "median ms", "p10 ms");
        t.forEach((k, v) -> System.out.printf(Locale.ROOT, "   %-" + w + "s %10.3f %10.3f%n", k, median(v), quantile(v, 0.1)));
        for (String name : cases.keySet())
            System.out.printf(Locale.ROOT, "   %s: %s / %s = %.3f%n", name, aName, bName,
                    median(t.get(name + " " + aName)) / median(t.get(name + " " + bName)));
    }

    /** The q-quantile (0..1) of the values, nearest rank. */
    static double quantile(double[] v, double q) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[(int) Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))];
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String loadAverage() {
        try {
            return new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg"))).trim();
        } catch (java.io.IOException e) {
            return "n/a";
        }
    }
}
