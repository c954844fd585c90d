package org.bn4j.layers;

import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.bn4j.runtime.InputView;
import org.bn4j.reference.Ref;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** Every check, for every case of {@link LayerCases}; a failure names its case. */
class NormLayerTest {
    static final long N = 6;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    static List<LayerCase> cases() {
        return LayerCases.all();
    }

    static List<LayerCase> runningStatCases() {
        return cases().stream().filter(LayerCase::runningStats).collect(Collectors.toList());
    }

    // ---------------------------------------------------------------- gradient checks

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckMultiLayerNetworkAtInit(LayerCase c) {
        assertTrue(checkMln(c, Nets.mln(c, new NoOp(), true, 12)), c.name() + ": gradient check failed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckMultiLayerNetworkAfterTraining(LayerCase c) {
        MultiLayerNetwork trained = Nets.mln(c, new Sgd(0.1), true, 13);
        for (int i = 0; i < 3; i++) trained.fit(dataSet(c, 100 + i));
        MultiLayerNetwork net = Nets.mln(c, new NoOp(), true, 13);
        net.setParams(trained.params());
        assertTrue(checkMln(c, net), c.name() + ": gradient check after training failed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckComputationGraph(LayerCase c) {
        ComputationGraph trained = Nets.graph(c, new Sgd(0.1), 14);
        for (int i = 0; i < 2; i++) trained.fit(dataSet(c, 200 + i));
        for (ComputationGraph net : List.of(Nets.graph(c, new NoOp(), 14), withParams(Nets.graph(c, new NoOp(), 14), trained))) {
            INDArray mask = Nets.mask(c, N);
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                    .inputs(new INDArray[]{Nets.input(c, N, 3)}).labels(new INDArray[]{Nets.labels(c, N, 3)})
                    .inputMask(mask == null ? null : new INDArray[]{mask}).labelMask(mask == null ? null : new INDArray[]{mask})
                    .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)
                    .excludeParams(Set.of("norm_" + NormParamInitializer.MEAN, "norm_" + NormParamInitializer.VAR)));
            assertTrue(ok, c.name() + ": ComputationGraph gradient check failed");
        }
    }

    private static ComputationGraph withParams(ComputationGraph net, ComputationGraph from) {
        net.setParams(from.params());
        return net;
    }

    private static boolean checkMln(LayerCase c, MultiLayerNetwork net) {
        INDArray mask = Nets.mask(c, N);
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(Nets.input(c, N, 3)).labels(Nets.labels(c, N, 3)).inputMask(mask).labelMask(mask)
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)
                .excludeParams(Set.of("1_" + NormParamInitializer.MEAN, "1_" + NormParamInitializer.VAR)));
    }

    private static DataSet dataSet(LayerCase c, long seed) {
        INDArray mask = Nets.mask(c, N);
        return new DataSet(Nets.input(c, N, seed), Nets.labels(c, N, seed), mask, mask);
    }

    // ---------------------------------------------------------------- plain reference

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPlainReference(LayerCase c) {
        for (long n : new long[]{3, 5, 9}) { // (n = 2 would tie the top-k statistic: |x1 − μ| = |x2 − μ|)
            compareWithReference(c, Nets.input(c, n, 40 + n), 1e-10);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void accurateForLargeOffset(LayerCase c) {
        Nd4j.getRandom().setSeed(7);
        INDArray x = Nd4j.randn(DataType.DOUBLE, c.kind().shape(8, Nets.C, Nets.S)).muli(1e-2).addi(1e4);
        compareWithReference(c, x, 1e-6);
    }

    /**
     * The layer in float32 against the (double) reference on the same values: the float graphs have their own
     * constants (ulps, the smallest normal number), which the double gradient checks do not exercise.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void float32MatchesReference(LayerCase c) {
        compareWithReference(c, Nets.input(c, 9, 49).castTo(DataType.FLOAT).castTo(DataType.DOUBLE), DataType.FLOAT, 1e-4);
    }

    private void compareWithReference(LayerCase c, INDArray x, double tol) {
        compareWithReference(c, x, DataType.DOUBLE, tol);
    }

    /** Runs the layer in {@code dt} on x (double values representable in dt) and compares with the reference. */
    private void compareWithReference(LayerCase c, INDArray x, DataType dt, double tol) {
        MultiLayerNetwork net = Nets.alone(c, dt);
        Layer layer = net.getLayer(0);
        randomizeAffine(layer, 5);
        long n = x.size(0);
        INDArray mask = Nets.mask(c, n);
        Nd4j.getRandom().setSeed(9);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, x.shape()).castTo(dt).castTo(DataType.DOUBLE);

        layer.setInput(x.castTo(dt), Nets.noWs());
        layer.setMaskArray(mask == null ? null : mask.castTo(dt));
        INDArray y = layer.activate(true, Nets.noWs());
        Pair<Gradient, INDArray> grad = layer.backpropGradient(dy.castTo(dt), Nets.noWs());

        double[] w = weights(c, x, mask);
        double[] gamma = param(layer, NormParamInitializer.GAMMA), beta = param(layer, NormParamInitializer.BETA);
        double[][] noise = noise(c, layer, x, mask);
        Ref.Fwd f = refForward(c, x, w, gamma, beta, noise);
        Ref.Bwd b = refBackward(c, x, w, gamma, beta, noise, dy);
        assertClose(c.name() + " y", f.y(), doubles(y), tol);
        assertClose(c.name() + " dx", b.dx(), doubles(grad.getSecond()), tol);
        if (gamma != null && b.dgamma() != null) {
            assertClose(c.name() + " dgamma", b.dgamma(), doubles(grad.getFirst().getGradientFor(NormParamInitializer.GAMMA)), tol);
            assertClose(c.name() + " dbeta", b.dbeta(), doubles(grad.getFirst().getGradientFor(NormParamInitializer.BETA)), tol);
        }
    }

    // ---------------------------------------------------------------- running statistics

    @ParameterizedTest(name = "{0}")
    @MethodSource("runningStatCases")
    void runningStatisticsFollowTheRule(LayerCase c) {
        MultiLayerNetwork net = Nets.mln(c, new Sgd(0.1), false, 21);
        Layer layer = Nets.normLayer(net);
        double decay = ((AbstractNormLayer) layer.conf().getLayer()).getDecay();
        double[] mean = param(layer, NormParamInitializer.MEAN), var = param(layer, NormParamInitializer.VAR);
        assertArrayEquals(new double[(int) Nets.C], mean, 0.0, c.name() + ": initial running mean");
        for (int step = 0; step < 4; step++) {
            DataSet ds = dataSet(c, 300 + step);
            net.fit(ds);
            Ref.Fwd f = refForward(c, ds.getFeatures(), weights(c, ds.getFeatures(), ds.getFeaturesMaskArray()), null, null,
                    null);
            int nc = (int) Nets.C;
            for (int g = 0; g < f.mean().length / nc; g++) { // one update per (ghost) group, in order
                double[][] upd = Ref.updateRunning(mean, var, Arrays.copyOfRange(f.mean(), g * nc, g * nc + nc),
                        Arrays.copyOfRange(f.v(), g * nc, g * nc + nc), Arrays.copyOfRange(f.count(), g * nc, g * nc + nc), decay);
                mean = upd[0];
                var = upd[1];
            }
            assertClose(c.name() + " running mean after step " + step, mean, param(layer, NormParamInitializer.MEAN), 1e-10);
            assertClose(c.name() + " running var after step " + step, var, param(layer, NormParamInitializer.VAR), 1e-10);
        }
        // inference (and a training-mode forward without backprop) never changes them
        INDArray before = net.params().dup();
        INDArray x = Nets.input(c, N, 77);
        INDArray out = net.output(x, false, Nets.mask(c, N), Nets.mask(c, N));
        net.output(x, true, Nets.mask(c, N), Nets.mask(c, N));
        assertEquals(before, net.params(), c.name() + ": a forward pass changed the parameters");

        // inference output equals the reference inference map of the norm layer
        Layer alone = Nets.alone(c).getLayer(0);
        alone.setParams(layer.params());
        alone.setInput(x, Nets.noWs());
        alone.setMaskArray(Nets.mask(c, N));
        INDArray y = alone.activate(false, Nets.noWs());
        double[] ref = Ref.inference(doubles(x), intShape(x), c.kind().channelAxis(), mean, var,
                param(layer, NormParamInitializer.GAMMA), param(layer, NormParamInitializer.BETA), eps(c));
        double[] w = weights(c, x, Nets.mask(c, N));
        if (w != null) for (int i = 0; i < ref.length; i++) ref[i] *= w[i];
        assertClose(c.name() + " inference output", ref, doubles(y), 1e-10);
        assertNotNull(out);
    }

    // ---------------------------------------------------------------- serialization

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void jsonAndModelSerializerRoundTrips(LayerCase c) throws Exception {
        MultiLayerNetwork net = Nets.mln(c, new Sgd(0.1), true, 31);
        for (int i = 0; i < 2; i++) net.fit(dataSet(c, 400 + i));
        INDArray x = Nets.input(c, N, 5);
        INDArray mask = Nets.mask(c, N);
        INDArray expected = net.output(x, false, mask, mask);

        MultiLayerConfiguration fromJson = MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson());
        assertEquals(net.getLayerWiseConfigurations(), fromJson, c.name() + ": JSON round trip changed the configuration");
        MultiLayerNetwork rebuilt = new MultiLayerNetwork(fromJson);
        rebuilt.init(net.params().dup(), false);
        assertEquals(expected, rebuilt.output(x, false, mask, mask), c.name() + ": JSON round trip changed the output");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
        assertEquals(net.params(), restored.params(), c.name() + ": ModelSerializer changed the parameters");
        assertEquals(expected, restored.output(x, false, mask, mask), c.name() + ": ModelSerializer changed the output");
        assertEquals(net.output(x, true, mask, mask), restored.output(x, true, mask, mask), c.name() + ": training-mode output");

        ComputationGraph g = Nets.graph(c, new Sgd(0.1), 32);
        ComputationGraphConfiguration gc = ComputationGraphConfiguration.fromJson(g.getConfiguration().toJson());
        assertEquals(g.getConfiguration(), gc, c.name() + ": ComputationGraph JSON round trip");
        ByteArrayOutputStream gb = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, gb, true);
        ComputationGraph gr = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(gb.toByteArray()), true);
        INDArray[] masks = mask == null ? null : new INDArray[]{mask};
        assertEquals(g.output(false, new INDArray[]{x}, masks)[0], gr.output(false, new INDArray[]{x}, masks)[0],
                c.name() + ": ComputationGraph ModelSerializer round trip");
    }

    // ---------------------------------------------------------------- bad input

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void badInputIsRejectedAndChangesNothing(LayerCase c) {
        MultiLayerNetwork net = Nets.mln(c, new Sgd(0.1), false, 41);
        net.fit(dataSet(c, 500));
        INDArray before = net.params().dup();
        long[] good = c.kind().shape(N, Nets.C, Nets.S);

        long[] wrongC = c.kind().shape(N, Nets.C + 2, Nets.S);
        assertRejected(c, net, Nd4j.randn(DataType.DOUBLE, wrongC), null, "C = " + Nets.C, Arrays.toString(wrongC));
        long[] wrongRank = {N, Nets.C, Nets.S, Nets.S, 2, 2};
        assertRejected(c, net, Nd4j.randn(DataType.DOUBLE, wrongRank), null, "rank", Arrays.toString(wrongRank));
        if (c.kind().isRnn()) {
            INDArray badMask = Nd4j.ones(DataType.DOUBLE, N, Nets.S + 1);
            assertRejected(c, net, Nd4j.randn(DataType.DOUBLE, good), badMask, "[" + N + ", " + Nets.S + "]",
                    Arrays.toString(badMask.shape()));
        }
        assertEquals(before, net.params(), c.name() + ": rejected input changed parameters or running statistics");
    }

    private static void assertRejected(LayerCase c, MultiLayerNetwork net, INDArray x, INDArray mask, String expected,
                                       String actual) {
        Layer layer = Nets.normLayer(net);
        layer.setInput(x, Nets.noWs());
        layer.setMaskArray(mask);
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> {
            layer.activate(true, Nets.noWs());
            layer.backpropGradient(x, Nets.noWs());
        }, c.name() + ": input " + Arrays.toString(x.shape()) + " was not rejected");
        String msg = e.getMessage();
        assertTrue(msg.contains("'norm'"), c.name() + ": message does not name the layer: " + msg);
        assertTrue(msg.contains(expected), c.name() + ": message does not say what was expected (" + expected + "): " + msg);
        assertTrue(msg.contains(actual), c.name() + ": message does not say what came (" + actual + "): " + msg);
        layer.setMaskArray(null);
        layer.clear();
    }

    // ---------------------------------------------------------------- helpers

    /** The reference training forward of a case (ghost groups, noise, or noise only). */
    static Ref.Fwd refForward(LayerCase c, INDArray x, double[] w, double[] gamma, double[] beta, double[][] noise) {
        double[] xs = doubles(x), s = noise == null ? null : noise[0], m = noise == null ? null : noise[1];
        if (c.stat() == null) {
            return new Ref.Fwd(masked(Ref.noise(xs, s, m), w), null, null, null);
        }
        boolean before = c.noise() == org.bn4j.core.NormSpec.Noise.BEFORE_AFFINE;
        if (c.ghost() > 0) {
            return Ref.ghostForward(xs, intShape(x), c.reduceAxes(), c.kind().channelAxis(), w, gamma, beta, c.stat(),
                    eps(c), s, m, before, c.ghost());
        }
        return Ref.forward(xs, intShape(x), c.reduceAxes(), c.kind().channelAxis(), w, gamma, beta, c.stat(), eps(c),
                s, m, before);
    }

    static Ref.Bwd refBackward(LayerCase c, INDArray x, double[] w, double[] gamma, double[] beta, double[][] noise,
                               INDArray dy) {
        double[] xs = doubles(x), s = noise == null ? null : noise[0], m = noise == null ? null : noise[1];
        if (c.stat() == null) {
            return new Ref.Bwd(Ref.noiseBackward(s, masked(doubles(dy), w)), null, null);
        }
        boolean before = c.noise() == org.bn4j.core.NormSpec.Noise.BEFORE_AFFINE;
        if (c.ghost() > 0) {
            return Ref.ghostBackward(xs, intShape(x), c.reduceAxes(), c.kind().channelAxis(), w, gamma, beta, c.stat(),
                    eps(c), s, m, before, doubles(dy), c.ghost());
        }
        return Ref.backward(xs, intShape(x), c.reduceAxes(), c.kind().channelAxis(), w, gamma, beta, c.stat(), eps(c),
                s, m, before, doubles(dy));
    }

    private static double[] masked(double[] a, double[] w) {
        if (w != null) for (int i = 0; i < a.length; i++) a[i] *= w[i];
        return a;
    }

    /** The noise {s, m} the layer draws for the current step, in the input's shape; null without noise. */
    static double[][] noise(LayerCase c, Layer layer, INDArray x, INDArray mask) {
        if (c.noise() == org.bn4j.core.NormSpec.Noise.NONE) return null;
        AbstractNormLayer conf = (AbstractNormLayer) layer.conf().getLayer();
        INDArray[] sm = ((NormLayerImpl) layer).noise(InputView.of(x, mask, conf, "").view());
        return new double[][]{doubles(sm[0].reshape(x.shape())), doubles(sm[1].reshape(x.shape()))};
    }

    private static double eps(LayerCase c) {
        return ((AbstractNormLayer) c.layer().get()).getEps();
    }

    private static void randomizeAffine(Layer layer, long seed) {
        if (!layer.paramTable().containsKey(NormParamInitializer.GAMMA)) return;
        Nd4j.getRandom().setSeed(seed);
        layer.getParam(NormParamInitializer.GAMMA).assign(Nd4j.rand(DataType.DOUBLE, Nets.C).addi(0.5));
        layer.getParam(NormParamInitializer.BETA).assign(Nd4j.randn(DataType.DOUBLE, Nets.C));
    }

    static double[] param(Layer layer, String key) {
        INDArray p = layer.paramTable().get(key);
        return p == null ? null : doubles(p);
    }

    static double[] doubles(INDArray a) {
        return a.dup('c').data().asDouble();
    }

    static int[] intShape(INDArray a) {
        return Arrays.stream(a.shape()).mapToInt(i -> (int) i).toArray();
    }

    /** The RNN mask broadcast to the input's shape, or null. */
    static double[] weights(LayerCase c, INDArray x, INDArray mask) {
        if (mask == null) return null;
        long[] s = x.shape();
        INDArray w = c.kind() == Kind.RNN_NCW ? mask.reshape(s[0], 1, s[2]) : mask.reshape(s[0], s[1], 1);
        return doubles(w.broadcast(s));
    }

    /** max |expected − actual| / max |expected| ≤ tol. */
    static void assertClose(String what, double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double maxErr = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double rel = maxErr / Math.max(scale, Double.MIN_NORMAL);
        assertTrue(rel <= tol, what + ": relative error " + rel + " > " + tol);
    }
}
