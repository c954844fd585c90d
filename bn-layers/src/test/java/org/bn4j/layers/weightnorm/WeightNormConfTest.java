package org.bn4j.layers.weightnorm;

import org.deeplearning4j.nn.api.layers.LayerConstraint;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.constraint.NonNegativeConstraint;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.learning.regularization.L2Regularization;

import static org.bn4j.runtime.WeightNormParamInitializer.*;
import static org.junit.jupiter.api.Assertions.*;

/** Builders, defaults, equality, parameter buckets and configuration errors. */
class WeightNormConfTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @Test
    void defaultsAreDl4js() {
        WeightNormConv2D c = new WeightNormConv2D();
        assertArrayEquals(new int[]{5, 5}, c.getKernelSize());
        assertArrayEquals(new int[]{1, 1}, c.getStride());
        assertArrayEquals(new int[]{0, 0}, c.getPadding());
        assertArrayEquals(new int[]{1, 1}, c.getDilation());
        assertEquals(ConvolutionMode.Truncate, c.getConvolutionMode());
        assertEquals(CNN2DFormat.NCHW, c.getDataFormat());
        for (AbstractWeightNormLayer l : new AbstractWeightNormLayer[]{c, new WeightNormDense()}) {
            assertTrue(l.hasBias());
            assertNull(l.getInitialG());
            assertFalse(l.isDataInit());
        }
        assertArrayEquals(new int[]{3, 3}, new WeightNormConv2D.Builder(3).build().getKernelSize());
    }

    @Test
    void equalsAndHashCodeByValue() {
        WeightNormConv2D a = new WeightNormConv2D.Builder(3, 3).stride(2, 2).nOut(4).build();
        WeightNormConv2D b = new WeightNormConv2D.Builder(3, 3).stride(2, 2).nOut(4).build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, new WeightNormConv2D.Builder(3, 2).stride(2, 2).nOut(4).build());
        assertNotEquals(new WeightNormDense.Builder().nOut(4).build(), new WeightNormDense.Builder().nOut(4).dataInit(true).build());
        assertNotEquals(new WeightNormDense.Builder().nOut(4).build(), new WeightNormDense.Builder().nOut(4).initialG(2).build());
    }

    @Test
    void badConfigurationsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new WeightNormConv2D.Builder(3, 3)
                .convolutionMode(ConvolutionMode.Causal).build());
        assertThrows(IllegalArgumentException.class, () -> new WeightNormConv2D.Builder(3, 3, 3).build());
        assertThrows(IllegalArgumentException.class, () -> new WeightNormConv2D.Builder(3, 0).build());
        assertThrows(IllegalArgumentException.class, () -> new WeightNormConv2D.Builder(3, 3).padding(-1).build());
        assertThrows(IllegalArgumentException.class, () -> new WeightNormDense.Builder().initialG(Double.NaN).build());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> net(new WeightNormDense.Builder().nOut(3)
                .weightNoise(new DropConnect(0.5)).build()));
        assertTrue(e.getMessage().contains("weight noise"), e.getMessage());
        // kernel larger than the padded input, caught when the network is built
        Exception big = assertThrows(Exception.class, () -> new MultiLayerNetwork(WnNets.base(new NoOp(), 1).list()
                .layer(new WeightNormConv2D.Builder(7, 7).nOut(2).build())
                .setInputType(InputType.convolutional(5, 5, 3)).build()));
        assertTrue(big.getMessage().contains("smaller than the kernel"), big.getMessage());
    }

    private static MultiLayerNetwork net(org.deeplearning4j.nn.conf.layers.Layer l) {
        MultiLayerNetwork net = new MultiLayerNetwork(WnNets.base(new Sgd(0.1), 1).list().layer(l)
                .setInputType(InputType.feedForward(3)).build());
        net.init();
        return net;
    }

    @Test
    void parameterBuckets() {
        MultiLayerNetwork net = new MultiLayerNetwork(WnNets.base(new Sgd(0.1), 1).l2(1e-3).l2Bias(1e-4).list()
                .layer(new WeightNormDense.Builder().nOut(3).dataInit(true).constrainAllParameters(new NonNegativeConstraint())
                        .build())
                .setInputType(InputType.feedForward(4)).build());
        net.init();
        AbstractWeightNormLayer l = (AbstractWeightNormLayer) net.getLayer(0).conf().getLayer();
        assertEquals(java.util.List.of(V, G, B, INIT_DONE), l.initializer().paramKeys(l));
        assertTrue(l.getRegularizationByParam(V).get(0) instanceof L2Regularization, "v is a weight");
        assertTrue(l.getRegularizationByParam(B).get(0) instanceof L2Regularization, "b is a bias");
        assertTrue(l.getRegularizationByParam(G) == null || l.getRegularizationByParam(G).isEmpty(), "g is not regularized");
        assertTrue(l.getRegularizationByParam(INIT_DONE) == null || l.getRegularizationByParam(INIT_DONE).isEmpty());
        assertTrue(l.getUpdaterByParam(INIT_DONE) instanceof NoOp);
        assertTrue(l.getUpdaterByParam(G) instanceof Sgd);
        for (LayerConstraint c : l.getConstraints()) assertFalse(c.getParams().contains(INIT_DONE), "constraint on the flag");
        assertEquals(4 * 3 + 3 + 3 + 1, net.numParams());
    }

    @Test
    void initialGOption() {
        MultiLayerNetwork net = net(new WeightNormDense.Builder().nOut(3).initialG(0.7).build());
        assertEquals(Nd4j.valueArrayOf(new long[]{3}, 0.7, DataType.DOUBLE), net.getLayer(0).getParam(G));
    }

    /** Output types agree with DL4J's ConvolutionLayer for the same geometry. */
    @Test
    void outputTypeAsDl4jConvolution() {
        int[][] geometries = {{3, 1, 0, 1}, {3, 2, 1, 1}, {2, 2, 0, 2}, {5, 3, 2, 1}};
        for (ConvolutionMode mode : new ConvolutionMode[]{ConvolutionMode.Truncate, ConvolutionMode.Same}) {
            for (int[] g : geometries) {
                for (CNN2DFormat f : CNN2DFormat.values()) {
                    InputType in = InputType.convolutional(9, 8, 3, f);
                    int pad = mode == ConvolutionMode.Same ? 0 : g[2]; // DL4J rejects padding in Same mode
                    InputType ours = new WeightNormConv2D.Builder(g[0], g[0]).stride(g[1], g[1]).padding(pad, pad)
                            .dilation(g[3], g[3]).convolutionMode(mode).dataFormat(f).nOut(4).build().getOutputType(0, in);
                    InputType theirs = new ConvolutionLayer.Builder(g[0], g[0]).stride(g[1], g[1]).padding(pad, pad)
                            .dilation(g[3], g[3]).convolutionMode(mode).dataFormat(f).nOut(4).build().getOutputType(0, in);
                    assertEquals(theirs, ours, mode + " " + java.util.Arrays.toString(g) + " " + f);
                }
            }
        }
    }

    @Test
    void jsonNamesTheOptions() {
        MultiLayerConfiguration conf = WnNets.base(new NoOp(), 1).list()
                .layer(new WeightNormConv2D.Builder(3, 2).stride(2, 1).dataInit(true).initialG(1.5).nOut(2).build())
                .setInputType(InputType.convolutional(6, 6, 3)).build();
        String json = conf.toJson();
        for (String key : new String[]{"\"kernelH\"", "\"strideW\"", "\"dataInit\"", "\"initialG\"", "\"hasBias\"",
                "\"convolutionMode\"", "\"dataFormat\""}) {
            assertTrue(json.contains(key), key + " missing in " + json);
        }
        assertFalse(json.contains("\"kernelSize\""), "derived getters must not be serialized");
        assertEquals(conf, MultiLayerConfiguration.fromJson(json));
    }
}
