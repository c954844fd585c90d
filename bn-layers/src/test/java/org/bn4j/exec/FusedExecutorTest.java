package org.bn4j.exec;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused runner against {@code SameDiff.output} on hand-made graphs: every elementwise op and reduction it fuses,
 * on one and two threads (blocked and streaming kernels, partial sums merged), inputs that are views into larger
 * arrays, destinations; and the fallback of a graph it cannot plan (a warning, or a failure in strict mode).
 */
class FusedExecutorTest {

    static Stream<Arguments> typesAndThreads() {
        return Stream.of(DataType.DOUBLE, DataType.FLOAT).flatMap(dt -> Stream.of(1, 2).flatMap(
                t -> Stream.of(Arguments.of(dt, t, true), Arguments.of(dt, t, false))));
    }

    /** Runs body with the kernels' loops compiled ({@code -Dbn4j.exec.codegen} unset) or interpreted. */
    static <T> T withCodegen(boolean compiled, java.util.function.Supplier<T> body) {
        return withProperty("bn4j.exec.codegen", compiled ? null : "false", body);
    }

    /** Runs body with a system property set to value (null: unset), then restores it. */
    static <T> T withProperty(String name, String value, java.util.function.Supplier<T> body) {
        String before = System.getProperty(name);
        try {
            if (value == null) System.clearProperty(name);
            else System.setProperty(name, value);
            return body.get();
        } finally {
            if (before == null) System.clearProperty(name);
            else System.setProperty(name, before);
        }
    }

    /** A graph with every fused op, reductions over rows, columns and all axes, and a view of its input. */
    private static SameDiff graph(DataType dt, long rows, long cols, List<String> outs) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", dt, rows, cols);
        SDVariable g = sd.placeHolder("g", dt, 1, cols);
        SDVariable colMean = x.mean(true, 0);
        SDVariable u = x.sub(colMean);
        SDVariable rowMax = sd.math.abs(u).max(true, 1);
        SDVariable rowMin = u.min(true, 1);
        SDVariable r = u.div(sd.scalarMax(rowMax, 1e-30));
        SDVariable sel = sd.math.step(r.mul(r), 0.25).mul(sd.math.sign(r));
        SDVariable ge = u.gte(g).castTo(dt);
        SDVariable z = sd.math.sqrt(sd.math.abs(u).add(1.0)).mul(g).add(sd.math.rsqrt(r.mul(r).add(2.0)))
                .sub(sel).add(ge).add(sd.math.max(u, rowMin)).rsub(3.0);
        SDVariable y = sd.math.abs(z).add(1.0).rdiv(7.0).neg()
                .add(sd.math.log(sd.math.exp(u.mul(0.1))).mul(sd.math.square(u))).add(sd.math.pow(sd.math.abs(u), 1.5));
        SDVariable total = y.sum(true, 0, 1);
        SDVariable rowSum = y.sum(false, 1);
        outs.addAll(List.of(y.name(), total.name(), rowSum.name(), colMean.name()));
        return sd;
    }

    /**
     * Inputs of {@link #graph} (x as a view into a larger array: an offset, and rows of a longer buffer) whose every
     * element is clear of the graph's two thresholds, r² = 0.25 of its step and u = g of its comparison, by more than
     * float32's rounding of the statistics can move it. At a tie, float32 and the float64 reference may rightly land on
     * either side, a jump of 1 in the step or the comparison. The seeds 0 and 1 this test took before leave elements
     * within that margin, and it failed twice in some thirty runs of this class, so the side float32 takes varies from
     * run to run (why was not pinned down; a loop run interpreted in one run and compiled in another, its partial sums
     * added in another order, is one candidate). Tries seeds from {@code seed} on, in steps of 1000.
     */
    private static Map<String, INDArray> inputsClearOfThresholds(DataType dt, long rows, long cols, long seed) {
        for (int attempt = 0; attempt < 40; attempt++, seed += 1000) {
            Nd4j.getRandom().setSeed(seed);
            INDArray big = Nd4j.randn(dt, rows + 7, cols).muli(3).addi(1);
            INDArray x = big.get(NDArrayIndex.interval(5, 5 + rows), NDArrayIndex.all());
            INDArray g = Nd4j.rand(dt, 1, cols).addi(0.5);
            INDArray xd = x.castTo(DataType.DOUBLE);
            INDArray u = xd.subRowVector(xd.mean(0));
            INDArray r = u.divColumnVector(Transforms.abs(u).max(1).reshape(-1, 1));
            double nearStep = Transforms.abs(r.mul(r).subi(0.25)).minNumber().doubleValue();
            double nearTest = Transforms.abs(u.subRowVector(g.castTo(DataType.DOUBLE))).minNumber().doubleValue();
            if (nearStep > 1e-6 && nearTest > 1e-5) return Map.of("x", x, "g", g);
        }
        throw new IllegalStateException("no inputs clear of the thresholds from seed " + seed);
    }

    @ParameterizedTest(name = "{0}, {1} thread(s), compiled loops {2}")
    @MethodSource("typesAndThreads")
    void fusedEqualsSameDiff(DataType dt, int threads, boolean compiled) {
        long rows = 512, cols = 300;   // enough elements for two threads; 300 columns leave loop tails
        List<String> outs = new java.util.ArrayList<>();
        SameDiff sd = graph(dt, rows, cols, outs);
        CompiledGraph cg = new CompiledGraph(sd, List.of("x", "g"), outs, new Scratch(), threads);
        for (int call = 0; call < 2; call++) {
            if (call == 0) {   // planned here: every phase of the plan compiled, or none
                Nd4j.getRandom().setSeed(7);
                Map<String, INDArray> first = Map.of("x", Nd4j.randn(dt, rows, cols), "g", Nd4j.rand(dt, 1, cols));
                int[] loops = withCodegen(compiled, () -> {
                    cg.fusedPlan(first);
                    return cg.fused().compiledPhases();
                });
                assertEquals(compiled ? loops[1] : 0, loops[0], "phases compiled, of " + loops[1]);
            }
            Map<String, INDArray> in = inputsClearOfThresholds(dt, rows, cols, call);
            INDArray x = in.get("x");
            Map<String, INDArray> fused = cg.run(CompiledGraph.Path.FUSED, in);
            // the reference: SameDiff on the same graph in float64 (float32 sums accumulate in double when fused)
            List<String> refOuts = new java.util.ArrayList<>();
            CompiledGraph ref64 = CompiledGraph.of(graph(DataType.DOUBLE, rows, cols, refOuts), List.of("x", "g"), refOuts);
            Map<String, INDArray> ref = ref64.runSameDiff(Map.of("x", x.castTo(DataType.DOUBLE), "g", in.get("g").castTo(DataType.DOUBLE)));
            double tol = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
            // sums are compared relative to the sum of the magnitudes of their terms (the order of the terms differs)
            double sumAbs = Math.abs(ref.get(refOuts.get(0)).sumNumber().doubleValue())
                    + ref.get(refOuts.get(0)).norm1Number().doubleValue();
            for (int i = 0; i < outs.size(); i++) {
                INDArray a = fused.get(outs.get(i)).castTo(DataType.DOUBLE), b = ref.get(refOuts.get(i));
                assertArrayEquals(b.shape(), a.shape(), outs.get(i));
                double scale = i == 1 ? sumAbs : Math.max(b.amaxNumber().doubleValue(), Double.MIN_NORMAL);
                double diff = a.sub(b).amaxNumber().doubleValue();
                assertTrue(diff <= tol * scale, outs.get(i) + " differs by " + diff + " (relative " + diff / scale + ")");
            }
        }
    }

    /**
     * Every compiled float32 loop takes the float32 species {@link VectorOps} takes, the only one in the process: with
     * two, C2 compiles the Vector API's shared methods for both and their stores fall back to Java (see
     * {@link TileCompiler}). The generated classes' species constants are compared, for a float32 graph with loops
     * that reduce and loops that do not.
     */
    @Test
    void compiledLoopsTakeTheOneFloat32Species() throws ReflectiveOperationException {
        List<String> outs = new java.util.ArrayList<>();
        CompiledGraph cg = new CompiledGraph(graph(DataType.FLOAT, 512, 300, outs), List.of("x", "g"), outs, new Scratch(), 2);
        cg.fusedPlan(Map.of("x", Nd4j.randn(DataType.FLOAT, 512, 300), "g", Nd4j.rand(DataType.FLOAT, 1, 300)));
        java.lang.reflect.Field voF = VectorOps.class.getDeclaredField("F");
        voF.setAccessible(true);
        Object expected = ((jdk.incubator.vector.VectorSpecies<?>) voF.get(null)).vectorShape();
        java.util.Set<Object> shapes = new java.util.HashSet<>();
        List<TileCompiler.Loop> loops = cg.fused().loops();
        for (TileCompiler.Loop loop : loops) {
            Class<?> c = java.lang.invoke.MethodHandles.publicLookup().revealDirect(loop.handle()).getDeclaringClass();
            for (java.lang.reflect.Field f : c.getDeclaredFields()) {
                if (f.getType() != jdk.incubator.vector.VectorSpecies.class) continue;
                f.setAccessible(true);
                jdk.incubator.vector.VectorSpecies<?> sp = (jdk.incubator.vector.VectorSpecies<?>) f.get(null);
                if (sp.elementType() == float.class) shapes.add(sp.vectorShape());
            }
        }
        assertTrue(loops.size() >= 2, "compiled loops: " + loops.size());
        assertEquals(java.util.Set.of(expected), shapes, "float32 vector shapes of the compiled loops");
    }

    static Stream<Arguments> columnCases() {
        return Stream.of(DataType.DOUBLE, DataType.FLOAT).flatMap(dt -> Stream.of("1", null).flatMap(
                m -> Stream.of(Arguments.of(dt, m, true), Arguments.of(dt, m, false))));
    }

    /**
     * Per-column statistics on two threads, the kernel blocked by columns ({@code -Dbn4j.exec.minRun=1}: a block of
     * 150 columns a thread, which leaves loop tails) or streaming (the default at this width), compiled and
     * interpreted, against SameDiff.
     */
    @ParameterizedTest(name = "{0}, minRun {1}, compiled loops {2}")
    @MethodSource("columnCases")
    void columnStatisticsBlockedOrStreaming(DataType dt, String minRun, boolean compiled) {
        long rows = 64, cols = 300;
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", dt, rows, cols);
        SDVariable mean = x.mean(true, 0);
        SDVariable u = x.sub(mean);
        SDVariable v = u.mul(u).mean(true, 0);
        SDVariable y = u.mul(sd.math.rsqrt(v.add(1e-5)));
        List<String> outs = List.of(y.name(), mean.name(), v.name());
        CompiledGraph cg = new CompiledGraph(sd, List.of("x"), outs, new Scratch(), 2);
        Nd4j.getRandom().setSeed(3);
        Map<String, INDArray> in = Map.of("x", Nd4j.randn(dt, rows, cols).muli(2).addi(5));
        String plan = withProperty("bn4j.exec.minRun", minRun, () -> withCodegen(compiled, () -> cg.fusedPlan(in)));
        assertEquals(minRun != null, plan.contains("blocked on axis 1"), plan);
        Map<String, INDArray> fused = cg.run(CompiledGraph.Path.FUSED, in), ref = cg.runSameDiff(in);
        double tol = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
        for (String o : outs) {
            INDArray a = fused.get(o).castTo(DataType.DOUBLE), b = ref.get(o).castTo(DataType.DOUBLE);
            double diff = a.sub(b).amaxNumber().doubleValue(), scale = b.amaxNumber().doubleValue();
            assertTrue(diff <= tol * scale, o + " differs by " + diff + " (relative " + diff / scale + ")");
        }
    }

    @Test
    void outputsGoIntoDestinations() {
        List<String> outs = new java.util.ArrayList<>();
        SameDiff sd = graph(DataType.FLOAT, 16, 8, outs);
        CompiledGraph cg = new CompiledGraph(sd, List.of("x", "g"), outs, new Scratch(), 1);
        Map<String, INDArray> in = Map.of("x", Nd4j.randn(DataType.FLOAT, 16, 8), "g", Nd4j.rand(DataType.FLOAT, 1, 8));
        INDArray dest = Nd4j.create(DataType.FLOAT, 16, 8);
        Map<String, INDArray> out = CompiledGraph.withPath(CompiledGraph.Path.FUSED, () -> cg.run(in, Map.of(outs.get(0), dest)));
        assertSame(dest, out.get(outs.get(0)));
        assertTrue(dest.equalsWithEps(cg.runSameDiff(in).get(outs.get(0)), 1e-5));
    }

    /** A graph whose output is a boolean comparison: the fused executor keeps only float values in memory. */
    @Test
    void aGraphThatCannotBeFusedFallsBackVisiblyOrFailsInStrictMode() {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 4, 3);
        SDVariable b = x.gte(x.mul(0.5));
        CompiledGraph cg = CompiledGraph.of(sd, List.of("x"), List.of(b.name()));
        Map<String, INDArray> in = Map.of("x", Nd4j.randn(DataType.FLOAT, 4, 3));
        String before = System.getProperty("bn4j.exec.strict");
        try {
            System.setProperty("bn4j.exec.strict", "true");
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> CompiledGraph.withPath(CompiledGraph.Path.FUSED, () -> cg.run(in)));
            assertTrue(e.getMessage().contains("cannot be planned by the fused executor"), e.getMessage());
            System.setProperty("bn4j.exec.strict", "false");
            CompiledGraph lenient = CompiledGraph.of(sd, List.of("x"), List.of(b.name()));
            INDArray got = CompiledGraph.withPath(CompiledGraph.Path.FUSED, () -> lenient.run(in)).get(b.name());
            assertEquals(cg.runSameDiff(in).get(b.name()), got, "the fallback gives SameDiff's result");
        } finally {
            if (before == null) System.clearProperty("bn4j.exec.strict");
            else System.setProperty("bn4j.exec.strict", before);
        }
    }
}
