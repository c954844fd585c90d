package org.bn4j.layers.weightnorm;

import org.bn4j.core.LinearOp;
import org.bn4j.core.WeightNormCore;
import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.runtime.WeightNormParamInitializer;
import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.bn4j.runtime.InputView;
import org.bn4j.layers.Kind;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
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

import static org.bn4j.runtime.WeightNormParamInitializer.*;
import static org.bn4j.layers.weightnorm.WnAsserts.*;
import static org.junit.jupiter.api.Assertions.*;

/** Every check, for every case of {@link WnCases}; a failure names its case. */
class WeightNormLayerTest {
    static final long N = 4;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    static List<WnCase> cases() {
        return WnCases.all();
    }

    static List<WnCase> plainInitCases() {
        return WnCases.plainInitCases();
    }

    // ---------------------------------------------------------------- gradient checks

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckMultiLayerNetworkAtInit(WnCase c) {
        MultiLayerNetwork net = WnNets.mln(c, new NoOp(), 12);
        assertTrue(checkMln(c, net), c.name() + ": gradient check failed");
        // with dataInit, the check's first pass ran the initialization; the check covered the initialized layer
        assertTrue(WnNets.wnLayer(net).isInitialized(), c.name() + ": not initialized after the first training pass");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckMultiLayerNetworkAfterTraining(WnCase c) {
        MultiLayerNetwork trained = WnNets.mln(c, new Sgd(0.1), 13);
        for (int i = 0; i < 3; i++) trained.fit(WnNets.dataSet(c, N, 100 + i));
        MultiLayerNetwork net = WnNets.mln(c, new NoOp(), 13);
        net.setParams(trained.params());
        assertFalse(net.params().equalsWithEps(WnNets.mln(c, new NoOp(), 13).params(), 1e-6),
                c.name() + ": training did not move the parameters");
        assertTrue(checkMln(c, net), c.name() + ": gradient check after training failed");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientCheckComputationGraph(WnCase c) {
        ComputationGraph trained = WnNets.graph(c, new Sgd(0.1), 14);
        for (int i = 0; i < 2; i++) trained.fit(WnNets.dataSet(c, N, 200 + i));
        ComputationGraph atInit = WnNets.graph(c, new NoOp(), 14);
        ComputationGraph afterTraining = WnNets.graph(c, new NoOp(), 14);
        afterTraining.setParams(trained.params());
        for (ComputationGraph net : List.of(atInit, afterTraining)) {
            boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.GraphConfig().net(net)
                    .inputs(new INDArray[]{WnNets.input(c.kind(), N, 3)}).labels(new INDArray[]{WnNets.labels(N, 3)})
                    .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)
                    .excludeParams(Set.of(WnNets.NAME + "_" + INIT_DONE)));
            assertTrue(ok, c.name() + ": ComputationGraph gradient check failed" + (net == atInit ? " at init" : " after training"));
        }
    }

    private static boolean checkMln(WnCase c, MultiLayerNetwork net) {
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(WnNets.input(c.kind(), N, 3)).labels(WnNets.labels(N, 3))
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)
                .excludeParams(Set.of("1_" + INIT_DONE)));
    }

    // ---------------------------------------------------------------- plain reference

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPlainReference(WnCase c) {
        for (long n : new long[]{1, 3, 6}) {
            MultiLayerNetwork net = WnNets.alone(WnNets.conf(c), c.kind(), 5);
            WeightNormLayerImpl layer = (WeightNormLayerImpl) net.getLayer(0);
            AbstractWeightNormLayer conf = (AbstractWeightNormLayer) layer.conf().getLayer();
            Nd4j.getRandom().setSeed(20 + n);
            layer.getParam(V).assign(Nd4j.randn(DataType.DOUBLE, layer.getParam(V).shape()));
            layer.getParam(G).assign(Nd4j.rand(DataType.DOUBLE, WnCases.OUT).addi(0.5));
            if (conf.hasBias()) layer.getParam(B).assign(Nd4j.randn(DataType.DOUBLE, WnCases.OUT));
            if (conf.isDataInit()) layer.getParam(INIT_DONE).assign(1); // the initialization has its own test
            INDArray x = WnNets.input(c.kind(), n, 40 + n);
            INDArray dy = Nd4j.randn(DataType.DOUBLE, conf.outputShape(x, "test"));

            layer.setInput(x, WnNets.noWs());
            INDArray y = layer.activate(true, WnNets.noWs());
            Pair<Gradient, INDArray> grad = layer.backpropGradient(dy, WnNets.noWs());
            WnRef.Result r = WnRef.run(conf, c.activation(), doubles(x), intShape(x), doubles(layer.getParam(V)),
                    doubles(layer.getParam(G)), conf.hasBias() ? doubles(layer.getParam(B)) : null, doubles(dy));
            String what = c.name() + " n=" + n;
            assertClose(what + " y", r.y(), doubles(y), 1e-10);
            assertClose(what + " dx", r.dx(), doubles(grad.getSecond()), 1e-10);
            assertClose(what + " dv", r.dv(), doubles(grad.getFirst().getGradientFor(V)), 1e-10);
            assertClose(what + " dg", r.dg(), doubles(grad.getFirst().getGradientFor(G)), 1e-10);
            if (conf.hasBias()) assertClose(what + " db", r.db(), doubles(grad.getFirst().getGradientFor(B)), 1e-10);
            assertClose(what + " inference y", r.y(), doubles(layer.activate(false, WnNets.noWs())), 1e-10);
        }
    }

    // ---------------------------------------------------------------- equivalence with the plain DL4J layer

    /** With g = ‖v‖ (the default initialization) the layer is DL4J's plain layer with W = v. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("plainInitCases")
    void equalsPlainDl4jLayerWhenGIsTheNormOfV(WnCase c) {
        AbstractWeightNormLayer wnConf = WnNets.conf(c);
        WeightNormLayerImpl wn = (WeightNormLayerImpl) WnNets.alone(wnConf, c.kind(), 7).getLayer(0);
        Layer plain = WnNets.alone(plainCounterpart(c), c.kind(), 8).getLayer(0);
        INDArray v = wn.getParam(V);
        double[] norms = unitNorms(doubles(v), WnRef.toInt(v.shape()), wnConf instanceof WeightNormDense);
        assertClose(c.name() + ": initial g = ‖v‖", norms, doubles(wn.getParam(G)), 1e-14);
        INDArray w = plain.getParam(DefaultParamInitializer.WEIGHT_KEY);
        assertArrayEquals(v.shape(), w.shape(), c.name() + ": weight shapes");
        w.assign(v);
        if (wnConf.hasBias()) {
            Nd4j.getRandom().setSeed(9);
            INDArray b = Nd4j.randn(DataType.DOUBLE, WnCases.OUT);
            wn.getParam(B).assign(b);
            plain.getParam(DefaultParamInitializer.BIAS_KEY).assign(b.reshape(plain.getParam(DefaultParamInitializer.BIAS_KEY).shape()));
        }
        INDArray x = WnNets.input(c.kind(), 5, 77);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, wnConf.outputShape(x, "test"));
        for (Layer l : List.of(wn, plain)) l.setInput(x, WnNets.noWs());
        assertClose(c.name() + " inference output", doubles(plain.activate(false, WnNets.noWs())),
                doubles(wn.activate(false, WnNets.noWs())), 1e-10);
        assertClose(c.name() + " training output", doubles(plain.activate(true, WnNets.noWs())),
                doubles(wn.activate(true, WnNets.noWs())), 1e-10);
        Pair<Gradient, INDArray> gw = wn.backpropGradient(dy, WnNets.noWs());
        Pair<Gradient, INDArray> gp = plain.backpropGradient(dy, WnNets.noWs());
        assertClose(c.name() + " dx", doubles(gp.getSecond()), doubles(gw.getSecond()), 1e-10);
        if (wnConf.hasBias()) {
            assertClose(c.name() + " db", doubles(gp.getFirst().getGradientFor(DefaultParamInitializer.BIAS_KEY)),
                    doubles(gw.getFirst().getGradientFor(B)), 1e-10);
        }
        // dW = dv + (dg/‖v‖) v: the direction and scale gradients together are the plain weight gradient
        double[] dv = doubles(gw.getFirst().getGradientFor(V)), dg = doubles(gw.getFirst().getGradientFor(G));
        double[] vv = doubles(v), recombined = new double[dv.length];
        int[] vs = WnRef.toInt(v.shape());
        for (int i = 0; i < dv.length; i++) {
            int j = unit(i, vs, wnConf instanceof WeightNormDense);
            recombined[i] = dv[i] + dg[j] / norms[j] * vv[i];
        }
        assertClose(c.name() + " dW = dv + (dg/‖v‖)v", doubles(gp.getFirst().getGradientFor(DefaultParamInitializer.WEIGHT_KEY)),
                recombined, 1e-10);
    }

    static org.deeplearning4j.nn.conf.layers.Layer plainCounterpart(WnCase c) {
        AbstractWeightNormLayer conf = c.conf();
        if (conf instanceof WeightNormDense) {
            return new DenseLayer.Builder().nOut(WnCases.OUT).hasBias(conf.hasBias()).activation(c.activation()).build();
        }
        WeightNormConv2D cv = (WeightNormConv2D) conf;
        return new ConvolutionLayer.Builder(cv.getKernelSize()).stride(cv.getStride()).padding(cv.getPadding())
                .dilation(cv.getDilation()).convolutionMode(cv.getConvolutionMode()).dataFormat(cv.getDataFormat())
                .nOut(WnCases.OUT).hasBias(conf.hasBias()).activation(c.activation()).build();
    }

    private static int unit(int i, int[] vs, boolean dense) {
        return dense ? i % vs[1] : i / (vs[1] * vs[2] * vs[3]);
    }

    private static double[] unitNorms(double[] v, int[] vs, boolean dense) {
        double[] n = new double[dense ? vs[1] : vs[0]];
        for (int i = 0; i < v.length; i++) n[unit(i, vs, dense)] += v[i] * v[i];
        for (int j = 0; j < n.length; j++) n[j] = Math.sqrt(n[j]);
        return n;
    }

    // ---------------------------------------------------------------- serialization

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void jsonAndModelSerializerRoundTrips(WnCase c) throws Exception {
        MultiLayerNetwork net = WnNets.mln(c, new Sgd(0.1), 31);
        for (int i = 0; i < 2; i++) net.fit(WnNets.dataSet(c, N, 400 + i));
        INDArray x = WnNets.input(c.kind(), N, 5);
        INDArray expected = net.output(x, false);

        String json = net.getLayerWiseConfigurations().toJson();
        assertTrue(json.contains(c.conf().getClass().getName()), c.name() + ": JSON names the layer class");
        MultiLayerConfiguration fromJson = MultiLayerConfiguration.fromJson(json);
        assertEquals(net.getLayerWiseConfigurations(), fromJson, c.name() + ": JSON round trip changed the configuration");
        MultiLayerNetwork rebuilt = new MultiLayerNetwork(fromJson);
        rebuilt.init(net.params().dup(), false);
        assertEquals(expected, rebuilt.output(x, false), c.name() + ": JSON round trip changed the output");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
        assertEquals(net.params(), restored.params(), c.name() + ": ModelSerializer changed the parameters");
        assertEquals(expected, restored.output(x, false), c.name() + ": ModelSerializer changed the output");
        // a training-mode pass on the restored net must not initialize again
        assertEquals(net.output(x, true), restored.output(x, true), c.name() + ": training-mode output after restore");

        ComputationGraph g = WnNets.graph(c, new Sgd(0.1), 32);
        g.fit(WnNets.dataSet(c, N, 410));
        ComputationGraphConfiguration gc = ComputationGraphConfiguration.fromJson(g.getConfiguration().toJson());
        assertEquals(g.getConfiguration(), gc, c.name() + ": ComputationGraph JSON round trip");
        ByteArrayOutputStream gb = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, gb, true);
        ComputationGraph gr = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(gb.toByteArray()), true);
        assertEquals(g.params(), gr.params(), c.name() + ": ComputationGraph ModelSerializer changed the parameters");
        assertEquals(g.output(false, x)[0], gr.output(false, x)[0], c.name() + ": ComputationGraph ModelSerializer round trip");
        assertEquals(g.output(true, x)[0], gr.output(true, x)[0], c.name() + ": ComputationGraph training-mode output");
    }

    // ---------------------------------------------------------------- bad input

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void badInputIsRejectedAndChangesNothing(WnCase c) {
        MultiLayerNetwork net = WnNets.mln(c, new Sgd(0.1), 41); // not trained: a dataInit layer is still uninitialized
        INDArray before = net.params().dup();
        WeightNormLayerImpl layer = WnNets.wnLayer(net);
        Kind k = c.kind();
        String expectC = k == Kind.FF ? "nIn = " + WnNets.C : "C = " + WnNets.C;

        long[] wrongC = k.shape(N, WnNets.C + 2, WnNets.S);
        assertRejected(c, layer, Nd4j.randn(DataType.DOUBLE, wrongC), expectC, Arrays.toString(wrongC));
        long[] wrongRank = k == Kind.FF ? new long[]{N, WnNets.C, WnNets.S} : new long[]{N, WnNets.C, WnNets.S, WnNets.S, 2};
        assertRejected(c, layer, Nd4j.randn(DataType.DOUBLE, wrongRank), "rank " + wrongRank.length, Arrays.toString(wrongRank));
        if (c.badSpatial() > 0) {
            long[] small = k.shape(N, WnNets.C, c.badSpatial());
            String why = ((WeightNormConv2D) c.conf()).getConvolutionMode() == ConvolutionMode.Strict ? "not divisible by the stride"
                    : "is smaller than the";
            assertRejected(c, layer, Nd4j.randn(DataType.DOUBLE, small), why, Arrays.toString(small));
        }
        // a wrong output gradient
        INDArray x = WnNets.input(k, N, 6);
        layer.setInput(x, WnNets.noWs());
        long[] zShape = layer.layerConf().outputShape(x, "test");
        layer.activate(false, WnNets.noWs());
        long[] wrongZ = zShape.clone();
        wrongZ[0] += 1;
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class,
                () -> layer.backpropGradient(Nd4j.zeros(DataType.DOUBLE, wrongZ), WnNets.noWs()));
        assertMessage(c, e.getMessage(), Arrays.toString(zShape), Arrays.toString(wrongZ));
        layer.clear();

        assertEquals(before, net.params(), c.name() + ": rejected input changed the parameters");
        if (c.dataInit()) assertFalse(layer.isInitialized(), c.name() + ": rejected input ran the initialization");
    }

    private static void assertRejected(WnCase c, WeightNormLayerImpl layer, INDArray x, String expected, String actual) {
        layer.setInput(x, WnNets.noWs());
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> {
            layer.activate(true, WnNets.noWs());
            layer.backpropGradient(x, WnNets.noWs());
        }, c.name() + ": input " + Arrays.toString(x.shape()) + " was not rejected");
        assertMessage(c, e.getMessage(), expected, actual);
        layer.clear();
    }

    private static void assertMessage(WnCase c, String msg, String expected, String actual) {
        assertTrue(msg.contains("'" + WnNets.NAME + "'"), c.name() + ": message does not name the layer: " + msg);
        assertTrue(msg.contains(expected), c.name() + ": message does not say what was expected (" + expected + "): " + msg);
        assertTrue(msg.contains(actual), c.name() + ": message does not say what came (" + actual + "): " + msg);
    }
}
