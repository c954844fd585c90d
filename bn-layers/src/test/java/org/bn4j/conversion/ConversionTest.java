package org.bn4j.conversion;

import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoisyBatchNorm;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.bn4j.conversion.Nets.assertIdentical;
import static org.bn4j.conversion.Nets.assertRel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Conversions on small hand-made float64 networks: trained by DL4J, both directions, every variant, options. */
class ConversionTest {
    private static final NormConverter TO_BN4J = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new));

    /** After five SGD steps with DL4J's layer (its own log10 σ), the converted network computes the same. */
    @Test
    void trainedByDl4jConvertsExactly() {
        MultiLayerNetwork dl4j = SmallNets.mln(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        MultiLayerNetwork bn4j = TO_BN4J.inputTypes(SmallNets.INPUT).convert(dl4j);
        INDArray x = SmallNets.input(99);
        assertRel(bn4j.output(x, false), dl4j.output(x, false), 1e-12, "inference");
        assertRel(bn4j.output(x, true), dl4j.output(x, true), 1e-12, "training mode");
        ZooConversionTest.assertParametersCarried(dl4j, bn4j);
        assertEquals(dl4j.getIterationCount(), bn4j.getIterationCount());
    }

    @Test
    void graphNhwcConvertsExactly() {
        ComputationGraph dl4j = SmallNets.graph(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        ComputationGraph bn4j = TO_BN4J.convert(dl4j);
        assertEquals(CNN2DFormat.NHWC, ((BatchNorm) bn4j.getLayer("bn1").conf().getLayer()).getCnn2dFormat());
        INDArray x = SmallNets.input(98).permute(0, 2, 3, 1).dup();
        assertRel(bn4j.outputSingle(false, x), dl4j.outputSingle(false, x), 1e-12, "inference");
        assertRel(bn4j.outputSingle(true, x), dl4j.outputSingle(true, x), 1e-12, "training mode");
        ZooConversionTest.assertParametersCarried(dl4j, bn4j);
        assertEquals(dl4j.getConfiguration().getIterationCount(), bn4j.getConfiguration().getIterationCount());
    }

    /**
     * A batch norm that took NWC from its input type, converted with the input types known: the replacement takes NWC
     * from its input type too (the converter sets only formats the old layer had set on its builder) and computes the
     * same. (DL4J's own BatchNormalization does not take NWC sequences.)
     */
    @Test
    void nwcFromTheInputTypeConvertsWithInputTypes() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(4).dataType(DataType.DOUBLE).updater(new Sgd(0.1)).list()
                .layer(new SimpleRnn.Builder().nOut(4).activation(Activation.TANH).dataFormat(RNNFormat.NWC).build())
                .layer(new BatchNorm.Builder().build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2).activation(Activation.IDENTITY)
                        .dataFormat(RNNFormat.NWC).build())
                .setInputType(InputType.recurrent(3, 5, RNNFormat.NWC)).build();
        MultiLayerNetwork source = new MultiLayerNetwork(conf);
        source.init();
        INDArray x = Nd4j.randn(DataType.DOUBLE, 6, 5, 3);
        for (int i = 0; i < 3; i++) source.fit(x, Nd4j.randn(DataType.DOUBLE, 6, 5, 2));
        MultiLayerNetwork converted = new NormConverter(NormSelector.all(), NormFactory.bn4j(BatchNorm.Builder::new))
                .inputTypes(InputType.recurrent(3, 5, RNNFormat.NWC)).convert(source);
        assertEquals(RNNFormat.NWC, ((BatchNorm) converted.getLayer(1).conf().getLayer()).getRnnFormat());
        assertRel(converted.output(x, false), source.output(x, false), 1e-12, "inference");
        assertRel(converted.output(x, true), source.output(x, true), 1e-12, "training mode");
    }

    /** ε, decay, the data format, initial γ/β and the layer's own updater carry over into a configuration. */
    @Test
    void optionsCarryOver() {
        BatchNormalization custom = new BatchNormalization.Builder().decay(0.95).eps(1e-3).gamma(1.5).beta(0.25)
                .updater(new Adam(0.01)).build();
        MultiLayerConfiguration conf = TO_BN4J.convert(SmallNets.mln(custom, SmallNets.dl4jBn()).getLayerWiseConfigurations());
        BatchNorm bn = (BatchNorm) conf.getConf(1).getLayer();
        assertEquals("bn1", bn.getLayerName());
        assertEquals(0.95, bn.getDecay());
        assertEquals(1e-3, bn.getEps());
        assertEquals(1.5, bn.getGammaInit());
        assertEquals(0.25, bn.getBetaInit());
        assertEquals(4, bn.getNIn());
        assertEquals(new Adam(0.01), bn.getIUpdater());
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        assertIdentical(Nd4j.valueArrayOf(new long[]{4}, 1.5, org.nd4j.linalg.api.buffer.DataType.DOUBLE), net.getLayer(1).getParam("gamma"), "initial γ");
    }

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("BatchNorm", (Supplier<AbstractNormLayer.Builder<?>>) BatchNorm.Builder::new),
                Arguments.of("GhostBatchNorm", (Supplier<AbstractNormLayer.Builder<?>>) () -> new GhostBatchNorm.Builder().virtualBatchSize(4)),
                Arguments.of("LpBatchNorm", (Supplier<AbstractNormLayer.Builder<?>>) () -> new LpBatchNorm.Builder().p(1)),
                Arguments.of("NoisyBatchNorm", (Supplier<AbstractNormLayer.Builder<?>>) NoisyBatchNorm.Builder::new),
                Arguments.of("LayerNorm", (Supplier<AbstractNormLayer.Builder<?>>) LayerNorm.Builder::new));
    }

    /**
     * Every variant takes the trained parameters it has; every batch-norm-family variant then computes DL4J's
     * inference function (all of them infer with the running statistics).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void everyVariant(String name, Supplier<AbstractNormLayer.Builder<?>> builder) {
        MultiLayerNetwork dl4j = SmallNets.mln(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        MultiLayerNetwork via = TO_BN4J.convert(dl4j);
        MultiLayerNetwork net = new NormConverter(NormSelector.all(), NormFactory.bn4j(builder)).convert(via);
        for (int i : new int[]{1, 4}) {
            AbstractNormLayer l = (AbstractNormLayer) net.getLayer(i).conf().getLayer();
            assertEquals(name, l.getClass().getSimpleName());
            for (String k : net.getLayer(i).paramTable().keySet()) {
                assertIdentical(via.getLayer(i).getParam(k), net.getLayer(i).getParam(k), name + " " + k);
            }
        }
        INDArray x = SmallNets.input(97);
        if (((AbstractNormLayer) net.getLayer(1).conf().getLayer()).hasRunningStats()) {
            assertRel(net.output(x, false), dl4j.output(x, false), 1e-12, name + " inference");
        } else {
            assertFalse(net.output(x, false).isNaN().any(), name);
        }
    }

    /** bn4j's BatchNorm back to DL4J's layer, with the variance as is and as log10 σ. */
    @Test
    void backToDl4j() {
        MultiLayerNetwork dl4j = SmallNets.mln(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        MultiLayerNetwork bn4j = TO_BN4J.convert(dl4j);
        INDArray x = SmallNets.input(96);
        for (boolean logStd : new boolean[]{false, true}) {
            MultiLayerNetwork back = new NormConverter(NormSelector.ofType(BatchNorm.class), NormFactory.dl4j(logStd)).convert(bn4j);
            BatchNormalization l = (BatchNormalization) back.getLayer(1).conf().getLayer();
            assertEquals(logStd, l.isUseLogStd());
            assertRel(back.output(x, false), bn4j.output(x, false), 1e-12, "inference, useLogStd " + logStd);
            assertRel(back.output(x, true), bn4j.output(x, true), 1e-12, "training mode, useLogStd " + logStd);
            if (logStd) {
                assertRel(back.getLayer(1).getParam("log10stdev"), dl4j.getLayer(1).getParam("log10stdev"), 1e-15, "log10 σ");
            } else {
                assertIdentical(bn4j.getLayer(1).getParam("var"), back.getLayer(1).getParam("var"), "var");
            }
        }
    }

    /** affine(false) and DL4J's lockGammaBeta(true) with γ = 1, β = 0 are the same layer, both ways. */
    @Test
    void unitGammaBetaBothWays() {
        MultiLayerNetwork dl4j = SmallNets.mln(new BatchNormalization.Builder().lockGammaBeta(true).build(), SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        MultiLayerNetwork bn4j = TO_BN4J.convert(dl4j);
        assertFalse(((BatchNorm) bn4j.getLayer(1).conf().getLayer()).isScale());
        MultiLayerNetwork back = new NormConverter(NormSelector.all(), NormFactory.dl4j()).convert(bn4j);
        assertTrue(((BatchNormalization) back.getLayer(1).conf().getLayer()).isLockGammaBeta());
        INDArray x = SmallNets.input(95);
        assertRel(bn4j.output(x, false), dl4j.output(x, false), 1e-12, "to bn4j");
        assertRel(back.output(x, false), dl4j.output(x, false), 1e-12, "and back");
    }

    /**
     * DL4J M2.1's lockGammaBeta(true).gamma(2).beta(0) computes x̂ (it applies γ, β only when γ ≠ 1 and β ≠ 0): the
     * conversion keeps that function (affine(false)), not the configured γ.
     */
    @Test
    void dl4jLockedGammaIsIgnoredWhenBetaIsZero() {
        MultiLayerNetwork locked = SmallNets.mln(new BatchNormalization.Builder().lockGammaBeta(true).gamma(2).beta(0).build(),
                SmallNets.dl4jBn());
        MultiLayerNetwork unit = SmallNets.mln(new BatchNormalization.Builder().lockGammaBeta(true).build(), SmallNets.dl4jBn());
        unit.setParams(locked.params());
        INDArray x = SmallNets.input(94);
        assertIdentical(unit.output(x, false), locked.output(x, false), "DL4J's locked γ = 2, β = 0 is x̂");
        MultiLayerNetwork bn4j = TO_BN4J.convert(locked);
        assertFalse(((BatchNorm) bn4j.getLayer(1).conf().getLayer()).isScale());
        assertRel(bn4j.output(x, false), locked.output(x, false), 1e-12, "converted");
    }

    /** DL4J's lockGammaBeta(true).gamma(2).beta(0.5) converts to fixedGamma(2), fixedBeta(0.5), and back. */
    @Test
    void lockedGammaBetaBothWays() {
        MultiLayerNetwork dl4j = SmallNets.mln(new BatchNormalization.Builder().lockGammaBeta(true).gamma(2).beta(0.5).build(),
                SmallNets.dl4jBn());
        SmallNets.train(dl4j);
        MultiLayerNetwork bn4j = TO_BN4J.convert(dl4j);
        BatchNorm conf = (BatchNorm) bn4j.getLayer(1).conf().getLayer();
        assertEquals(2.0, conf.getFixedGamma());
        assertEquals(0.5, conf.getFixedBeta());
        assertFalse(bn4j.getLayer(1).paramTable().containsKey("gamma"), "a fixed γ is not a parameter");
        MultiLayerNetwork back = new NormConverter(NormSelector.all(), NormFactory.dl4j()).convert(bn4j);
        BatchNormalization d = (BatchNormalization) back.getLayer(1).conf().getLayer();
        assertTrue(d.isLockGammaBeta() && d.getGamma() == 2.0 && d.getBeta() == 0.5);
        INDArray x = SmallNets.input(96);
        assertRel(bn4j.output(x, false), dl4j.output(x, false), 1e-12, "to bn4j");
        assertRel(back.output(x, false), dl4j.output(x, false), 1e-12, "and back");
        assertRel(bn4j.output(x, true), dl4j.output(x, true), 1e-12, "training mode");
    }

    @Test
    void byNameOnly() {
        MultiLayerNetwork dl4j = SmallNets.mln(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        MultiLayerNetwork bn4j = new NormConverter(NormSelector.named("bn2"), NormFactory.bn4j(BatchNorm.Builder::new)).convert(dl4j);
        assertInstanceOf(BatchNormalization.class, bn4j.getLayer(1).conf().getLayer());
        assertInstanceOf(BatchNorm.class, bn4j.getLayer(4).conf().getLayer());
        assertEquals(java.util.List.of("bn1", "bn2"), TO_BN4J.selected(dl4j.getLayerWiseConfigurations()));
    }

    /** A frozen batch norm (transfer learning) stays frozen, with its parameters. */
    @Test
    void insideFrozenLayer() {
        MultiLayerNetwork dl4j = SmallNets.mln(new FrozenLayer(SmallNets.dl4jBn()), SmallNets.dl4jBn());
        MultiLayerNetwork bn4j = TO_BN4J.convert(dl4j);
        FrozenLayer f = (FrozenLayer) bn4j.getLayerWiseConfigurations().getConf(1).getLayer();
        assertInstanceOf(BatchNorm.class, f.getLayer());
        assertIdentical(dl4j.getLayer(1).getParam("gamma"), bn4j.getLayer(1).getParam("gamma"), "γ");
        assertIdentical(dl4j.getLayer(1).getParam("mean"), bn4j.getLayer(1).getParam("mean"), "mean");
    }
}
