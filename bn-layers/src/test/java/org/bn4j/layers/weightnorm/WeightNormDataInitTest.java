package org.bn4j.layers.weightnorm;

import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.check.InputKind;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.List;

import static org.bn4j.runtime.WeightNormParamInitializer.*;
import static org.bn4j.layers.weightnorm.WnAsserts.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Data-dependent initialization (SPEC §6, Salimans and Kingma §3): the first training batch's pre-activations get
 * mean 0 and variance 1 per unit; it happens once; the flag survives save and load.
 */
class WeightNormDataInitTest {
    static final long N = 8;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    static List<WnCase> dataInitCases() {
        return WnCases.dataInitCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dataInitCases")
    void standardizesTheFirstBatchOnceAndSurvivesSaveAndLoad(WnCase c) throws Exception {
        // learning rate 0: after the first fit, any change of the parameters can only come from a second initialization
        // (DL4J's NoOp updater would not do: it applies the raw gradient)
        MultiLayerNetwork net = WnNets.mln(c, new Sgd(0.0), 51);
        WeightNormLayerImpl layer = WnNets.wnLayer(net);
        assertFalse(layer.isInitialized(), c.name() + ": initialized before any batch");
        assertEquals(0.0, layer.getParam(INIT_DONE).getDouble(0), c.name() + ": initial flag");

        INDArray before = net.params().dup();
        net.output(WnNets.input(c.kind(), N, 599), false);
        assertEquals(before, net.params(), c.name() + ": an inference pass initialized the layer");

        DataSet first = WnNets.dataSet(c, N, 600);
        net.fit(first);
        assertTrue(layer.isInitialized(), c.name() + ": not initialized by the first fit");
        assertEquals(1.0, layer.getParam(INIT_DONE).getDouble(0), c.name() + ": flag after the first fit");
        assertStandardized(c.name(), layer, net.feedForwardToLayer(1, first.getFeatures(), false).get(1), c.kind());

        INDArray afterInit = net.params().dup();
        net.fit(WnNets.dataSet(c, N, 601));
        assertEquals(afterInit, net.params(), c.name() + ": the initialization ran again on the second batch");

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, bytes, true);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(new ByteArrayInputStream(bytes.toByteArray()), true);
        assertTrue(WnNets.wnLayer(restored).isInitialized(), c.name() + ": the flag did not survive ModelSerializer");
        restored.fit(WnNets.dataSet(c, N, 602));
        assertEquals(afterInit, restored.params(), c.name() + ": the restored network initialized again");

        // JSON carries the option, not the state: a network built from the configuration alone starts uninitialized
        MultiLayerNetwork fresh = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson()));
        fresh.init();
        assertTrue(((AbstractWeightNormLayer) WnNets.wnLayer(fresh).conf().getLayer()).isDataInit(), c.name() + ": option lost in JSON");
        assertFalse(WnNets.wnLayer(fresh).isInitialized(), c.name() + ": a new network from JSON is already initialized");
        // ... and with the saved parameters it is initialized
        MultiLayerNetwork withParams = new MultiLayerNetwork(MultiLayerConfiguration.fromJson(net.getLayerWiseConfigurations().toJson()));
        withParams.init(net.params().dup(), false);
        assertTrue(WnNets.wnLayer(withParams).isInitialized(), c.name() + ": JSON + parameters lost the flag");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("dataInitCases")
    void computationGraphInitializesOnceAndKeepsTheFlag(WnCase c) throws Exception {
        ComputationGraph g = WnNets.graph(c, new Sgd(0.0), 52);
        DataSet first = WnNets.dataSet(c, N, 700);
        g.fit(first);
        WeightNormLayerImpl layer = (WeightNormLayerImpl) g.getLayer(WnNets.NAME);
        assertTrue(layer.isInitialized(), c.name() + ": not initialized by the first fit");
        INDArray wnInput = g.feedForward(first.getFeatures(), false).get("pre");
        assertStandardized(c.name() + " (ComputationGraph)", layer, wnInput, c.kind());
        INDArray afterInit = g.params().dup();
        g.fit(WnNets.dataSet(c, N, 701));
        assertEquals(afterInit, g.params(), c.name() + ": the initialization ran again");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ModelSerializer.writeModel(g, bytes, true);
        ComputationGraph restored = ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bytes.toByteArray()), true);
        assertTrue(((WeightNormLayerImpl) restored.getLayer(WnNets.NAME)).isInitialized(), c.name() + ": flag lost");
    }

    /** The documented way to initialize before training: one training-mode forward pass on a batch. */
    @Test
    void aTrainingModeForwardPassInitializes() {
        WnCase c = WnCases.dataInitCases().get(0);
        MultiLayerNetwork net = WnNets.mln(c, new Sgd(0.0), 55);
        INDArray batch = WnNets.input(c.kind(), 16, 56);
        net.output(batch, true);
        WeightNormLayerImpl layer = WnNets.wnLayer(net);
        assertTrue(layer.isInitialized(), "output(batch, true) did not initialize");
        assertStandardized("output(batch, true)", layer, net.feedForwardToLayer(1, batch, false).get(1), c.kind());
    }

    /** Layers are initialized in order, each on the output of the initialized layers before it. */
    @Test
    void stackedLayersAreEachStandardizedOnTheirOwnInput() {
        MultiLayerConfiguration conf = WnNets.base(new Sgd(0.0), 53).list()
                .layer(new WeightNormDense.Builder().nOut(5).activation(Activation.TANH).dataInit(true).build())
                .layer(new WeightNormDense.Builder().nOut(4).activation(Activation.IDENTITY).dataInit(true).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(WnNets.C)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        Nd4j.getRandom().setSeed(54);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 16, WnNets.C).muli(3).addi(2);
        net.fit(new DataSet(x, WnNets.labels(16, 54)));
        List<INDArray> acts = net.feedForward(x, false);
        for (int i = 0; i < 2; i++) {
            assertStandardized("layer " + i, (WeightNormLayerImpl) net.getLayer(i), acts.get(i), InputKind.FF);
        }
    }

    /** The layer's pre-activations on {@code x}, from the plain reference, have mean 0 and variance 1 per unit. */
    private static void assertStandardized(String what, WeightNormLayerImpl layer, INDArray x, InputKind kind) {
        AbstractWeightNormLayer conf = (AbstractWeightNormLayer) layer.conf().getLayer();
        WnRef.Result r = WnRef.run(conf, Activation.IDENTITY, doubles(x), intShape(x), doubles(layer.getParam(V)),
                doubles(layer.getParam(G)), conf.hasBias() ? doubles(layer.getParam(B)) : null, null);
        int[] zShape = WnRef.toInt(conf.outputShape(x, "test"));
        double[][] m = unitMoments(r.z(), zShape, kind == InputKind.CNN_NHWC ? 3 : 1);
        for (int j = 0; j < m[0].length; j++) {
            if (conf.hasBias()) assertEquals(0.0, m[0][j], 1e-10, what + ": mean of unit " + j);
            assertEquals(1.0, m[1][j], 1e-6, what + ": variance of unit " + j);
        }
    }
}
