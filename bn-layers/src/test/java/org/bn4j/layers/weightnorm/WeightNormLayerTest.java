package org.bn4j.layers.weightnorm;

import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.check.InputKind;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Arrays;
import java.util.List;

import static org.bn4j.runtime.WeightNormParamInitializer.*;
import static org.bn4j.layers.weightnorm.WnAsserts.*;
import static org.junit.jupiter.api.Assertions.*;

/** Weight norm beyond the kit's contract (LayerContractTest): equal to the plain DL4J layer when g = ‖v‖, invalid geometries refused. */
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

    // ---------------------------------------------------------------- bad input

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void badGeometryIsRejectedAndChangesNothing(WnCase c) {
        MultiLayerNetwork net = WnNets.mln(c, new Sgd(0.1), 41); // not trained: a dataInit layer is still uninitialized
        INDArray before = net.params().dup();
        WeightNormLayerImpl layer = WnNets.wnLayer(net);
        InputKind k = c.kind();
        // (wrong ranks and channel counts: the kit's bad-input check in LayerContractTest)
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

        org.bn4j.check.Exact.assertSame(before, net.params(), c.name() + ": rejected input changed the parameters");
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
