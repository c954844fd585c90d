package org.bn4j.core;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.exec.Scratch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused and the unfused executor ({@link CompiledGraph#run(CompiledGraph.Path, Map)}) against
 * {@code SameDiff.output} on the forward, backward and inference graphs of every layout of {@link NormCoreTest} and of
 * the other specs, in float and double, over repeated calls with new values (buffers are reused across calls); the
 * number of full-size passes of batch norm's and layer norm's fused plans.
 */
class ExecutorPathsTest {

    static List<NormCoreTest.CoreCase> cases() {
        List<NormCoreTest.CoreCase> out = new ArrayList<>(NormCoreTest.cases());
        Layout nc = Layout.of(new long[]{6, 3}, new int[]{0}, 1);
        Layout nchw = Layout.of(new long[]{3, 4, 5}, new int[]{0, 2}, 1);
        Layout maskedNcw = nchw.withMask(new long[]{3, 1, 5});
        out.add(new NormCoreTest.CoreCase("l1 batch norm [N,C]", spec(Statistic.lp(1, true), NormSpec.Noise.NONE), nc));
        out.add(new NormCoreTest.CoreCase("l3 batch norm NCHW", spec(Statistic.lp(3, true), NormSpec.Noise.NONE), nchw));
        out.add(new NormCoreTest.CoreCase("noise before affine", spec(Statistic.variance(), NormSpec.Noise.BEFORE_AFFINE), nc));
        out.add(new NormCoreTest.CoreCase("noise after affine, masked NCW",
                spec(Statistic.variance(), NormSpec.Noise.AFTER_AFFINE), maskedNcw));
        out.add(new NormCoreTest.CoreCase("noise only", spec(null, NormSpec.Noise.AFTER_AFFINE), nc));
        out.add(new NormCoreTest.CoreCase("masked [N,C]", spec(Statistic.variance(), NormSpec.Noise.NONE),
                nc.withMask(new long[]{6, 1})));
        return out;
    }

    private static NormSpec spec(Statistic s, NormSpec.Noise noise) {
        return NormCoreTest.spec(s, true, 1e-5, noise);
    }

    static Stream<Arguments> casesAndTypes() {
        return cases().stream().flatMap(c -> Stream.of(Arguments.of(c, DataType.DOUBLE), Arguments.of(c, DataType.FLOAT)));
    }

    static Stream<Arguments> casesTypesAndPaths() {
        return casesAndTypes().flatMap(a -> Stream.of(CompiledGraph.Path.FUSED, CompiledGraph.Path.UNFUSED)
                .map(p -> Arguments.of(a.get()[0], a.get()[1], p)));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("casesTypesAndPaths")
    void executorEqualsSameDiffOutput(NormCoreTest.CoreCase c, DataType dt, CompiledGraph.Path path) {
        NormCore.Graphs g = NormCore.graphs(c.spec(), c.layout(), dt);
        double eps = dt == DataType.DOUBLE ? 1e-12 : 1e-5;
        for (int call = 0; call < 3; call++) {
            Map<String, INDArray> in = inputs(c, dt, 100 + call);
            Map<String, INDArray> fwd = g.train().run(path, in);
            assertOutputsEqual(c.name() + " forward", fwd, g.train().runSameDiff(in), eps);

            Map<String, INDArray> bin = new HashMap<>(in);
            bin.putAll(fwd);
            bin.remove(NormCore.Y);
            bin.put(NormCore.DY, Nd4j.randn(dt, c.layout().shape()));
            assertOutputsEqual(c.name() + " backward", g.backward().run(path, bin), g.backward().runSameDiff(bin), eps);

            if (c.spec().normalizes() && c.layout().statsPerFeature()) {
                Map<String, INDArray> iin = new HashMap<>(in);
                iin.put(NormCore.MEAN_RUN, Nd4j.randn(dt, c.layout().paramShape()));
                iin.put(NormCore.V_RUN, Nd4j.rand(dt, c.layout().paramShape()).addi(0.5));
                assertOutputsEqual(c.name() + " inference", g.inference().run(path, iin), g.inference().runSameDiff(iin), eps);
            }
        }
    }

    /**
     * Full-size passes over memory of the fused forward+backward plans at the bench's shapes, float32: batch norm of
     * NCHW input at most 8, layer norm (over the features) at most 5, batch norm of [4096,1024] at most 9: its kernels
     * stream (each phase reads x again) because blocks of columns that stay in cache would cut its rows into runs of
     * 1 KiB, on which the loops ran at well under half their streaming speed (docs/performance-profile.md).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("passCases")
    void fusedPlansMakeFewPasses(String name, Layout layout, double limit) {
        NormSpec bn = NormSpec.batchNorm(1e-5);
        NormCore.Graphs g = NormCore.graphs(bn, layout, DataType.FLOAT);
        NormCoreTest.CoreCase c = new NormCoreTest.CoreCase(name, bn, layout);
        Map<String, INDArray> in = inputs(c, DataType.FLOAT, 1);
        Map<String, INDArray> bin = new HashMap<>(in);
        bin.put(NormCore.DY, in.get(NormCore.X));
        bin.put(NormCore.MEAN, Nd4j.zeros(DataType.FLOAT, layout.statsShape()));
        bin.put(NormCore.V, Nd4j.ones(DataType.FLOAT, layout.statsShape()));
        double fwd = g.train().fusedPasses(in), bwd = g.backward().fusedPasses(bin);
        assertTrue(fwd + bwd <= limit, name + ": " + fwd + " + " + bwd + " full-size passes, at most " + limit
                + " expected; plans:\n" + g.train().fusedPlan(in) + g.backward().fusedPlan(bin));
    }

    static Stream<Arguments> passCases() {
        return Stream.of(Arguments.of("batch norm [4096,1024]", Layout.of(new long[]{4096, 1024}, new int[]{0}, 1), 9.0),
                Arguments.of("batch norm NCHW [64,64,1024]", Layout.of(new long[]{64, 64, 1024}, new int[]{0, 2}, 1), 8.0),
                Arguments.of("layer norm [4096,1024]", Layout.of(new long[]{4096, 1024}, new int[]{1}, 1), 5.0));
    }

    @Test
    void outputsAreOwnedByTheCallerAndDestinationsAreFilled() {
        NormCoreTest.CoreCase c = NormCoreTest.cases().get(1);
        NormCore.Graphs g = NormCore.graphs(c.spec(), c.layout(), DataType.FLOAT);
        Map<String, INDArray> in1 = inputs(c, DataType.FLOAT, 1);
        Map<String, INDArray> first = g.train().run(in1);
        INDArray y1 = first.get(NormCore.Y).dup();
        INDArray mean1 = first.get(NormCore.MEAN).dup();

        INDArray dest = Nd4j.create(DataType.FLOAT, c.layout().shape());
        Map<String, INDArray> second = g.train().run(inputs(c, DataType.FLOAT, 2), Map.of(NormCore.Y, dest));
        assertSame(dest, second.get(NormCore.Y), "y written into the destination");
        assertEquals(y1, first.get(NormCore.Y), "a later call leaves earlier outputs alone");
        assertEquals(mean1, first.get(NormCore.MEAN));
        assertNotEquals(y1, dest);
        assertTrue(dest.equalsWithEps(g.train().runSameDiff(inputs(c, DataType.FLOAT, 2)).get(NormCore.Y), 1e-5));
    }

    @Test
    void inputsAndDestinationsOfAnotherShapeAreRejected() {
        NormCoreTest.CoreCase c = NormCoreTest.cases().get(0);
        CompiledGraph fwd = NormCore.forward(c.spec(), c.layout(), DataType.DOUBLE);
        fwd.run(inputs(c, DataType.DOUBLE, 1));
        Map<String, INDArray> wrong = inputs(c, DataType.DOUBLE, 1);
        wrong.put(NormCore.X, Nd4j.randn(DataType.DOUBLE, 3, 4));
        assertThrows(IllegalArgumentException.class, () -> fwd.run(wrong));
        assertThrows(IllegalArgumentException.class, () -> fwd.run(inputs(c, DataType.DOUBLE, 1),
                Map.of(NormCore.Y, Nd4j.create(DataType.DOUBLE, 4, 7))));
    }

    /**
     * The executor's own rewrites on a small hand-made graph: products with row/column-vector matrices (run as
     * matrix–vector products), a product of a large array with two small factors (reassociated) next to one whose
     * inner product is read twice (left alone), a legacy sum that ND4J runs as a copy, a reshape of an input.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void rewritesGiveTheSameResultsAsSameDiff(DataType dt) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", dt, 16, 8);
        SDVariable s = sd.placeHolder("s", dt, 1, 8);
        SDVariable c = sd.placeHolder("c", dt, 1, 8);
        SDVariable rowSum = sd.mmul(sd.constant(Nd4j.ones(dt, 1, 16)), x).mul(2.0);   // [1,16]·[16,8]
        SDVariable colSum = sd.mmul(x, sd.constant(Nd4j.ones(dt, 8, 1))).mul(3.0);    // [16,8]·[8,1]
        SDVariable once = x.mul(s).mul(c);                                              // (x·s)·c, inner read once
        SDVariable xs = x.mul(s);
        SDVariable twice = xs.mul(c).add(xs);                                           // inner read twice
        SDVariable flat = x.reshape(128).mul(2.0);
        List<String> outs = List.of(rowSum.name(), colSum.name(), once.name(), twice.name(), flat.name());
        CompiledGraph g = new CompiledGraph(sd, List.of("x", "s", "c"), outs, new Scratch());
        for (int call = 0; call < 2; call++) {
            Nd4j.getRandom().setSeed(call);
            Map<String, INDArray> in = Map.of("x", Nd4j.randn(dt, 16, 8), "s", Nd4j.randn(dt, 1, 8), "c", Nd4j.randn(dt, 1, 8));
            assertOutputsEqual("call " + call, g.run(CompiledGraph.Path.UNFUSED, in), g.runSameDiff(in),
                    dt == DataType.DOUBLE ? 1e-12 : 1e-5);
        }
        List<String> steps = g.stepLabels();
        assertEquals(2, steps.stream().filter(l -> l.endsWith("(matrix-vector)")).count(), steps.toString());
        assertEquals(1, steps.stream().filter(l -> l.endsWith("(reassociated)")).count(), steps.toString());

        // a legacy sum along a unit axis, which ND4J runs as a copy (SameDiff.output itself fails on it in M2.1)
        SameDiff sd2 = SameDiff.create();
        SDVariable v = sd2.placeHolder("c", dt, 6, 1);
        SDVariable vec = v.sum(true, 1);
        CompiledGraph g2 = new CompiledGraph(sd2, List.of("c"), List.of(vec.name()), new Scratch());
        INDArray c0 = Nd4j.randn(dt, 6, 1);
        assertEquals(c0, g2.run(CompiledGraph.Path.UNFUSED, Map.of("c", c0)).get(vec.name()));
        assertTrue(g2.stepLabels().get(0).contains("(copy)"), g2.stepLabels().toString());
    }

    static Stream<DataType> types() {
        return Stream.of(DataType.DOUBLE, DataType.FLOAT);
    }

    private static void assertOutputsEqual(String what, Map<String, INDArray> got, Map<String, INDArray> expected, double eps) {
        assertEquals(expected.keySet(), got.keySet(), what + ": output names");
        for (String k : expected.keySet()) {
            INDArray e = expected.get(k), a = got.get(k);
            assertArrayEquals(e.shape(), a.shape(), what + ": shape of " + k);
            assertEquals(e.dataType(), a.dataType(), what + ": data type of " + k);
            double scale = Math.max(e.amaxNumber().doubleValue(), Double.MIN_NORMAL);
            double diff = a.castTo(DataType.DOUBLE).sub(e.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
            assertTrue(diff <= eps * scale, what + ": " + k + " differs by " + diff + " (relative " + diff / scale + ")");
        }
    }

    private static Map<String, INDArray> inputs(NormCoreTest.CoreCase c, DataType dt, long seed) {
        Layout l = c.layout();
        Nd4j.getRandom().setSeed(seed);
        Map<String, INDArray> in = new HashMap<>();
        in.put(NormCore.X, Nd4j.randn(dt, l.shape()).muli(2).addi(0.5));
        if (l.maskShape() != null) {
            INDArray w = Nd4j.ones(dt, l.maskShape());
            w.putScalar(0, 0);
            w.putScalar(w.length() - 1, 0);
            in.put(NormCore.W, w);
        }
        if (c.spec().scale()) {
            in.put(NormCore.GAMMA, Nd4j.rand(dt, l.paramShape()).addi(0.5));
            in.put(NormCore.BETA, Nd4j.randn(dt, l.paramShape()));
        }
        if (c.spec().noisy()) {
            in.put(NormCore.NOISE_S, Nd4j.rand(dt, l.shape()).addi(0.5));
            in.put(NormCore.NOISE_M, Nd4j.randn(dt, l.shape()).muli(0.1));
        }
        return in;
    }
}
