package org.bn4j.layers;

import org.bn4j.check.Exact;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.constraint.NonNegativeConstraint;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.weightnoise.DropConnect;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Builders that do what they say: invalid options are refused with a message naming the layer, the option, what was
 * expected and what came; what the layers inherit from DL4J's FeedForwardLayer is honoured or refused, never ignored.
 */
class VariantConfigTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    private static void refused(Executable build, String... parts) {
        Exception e = assertThrows(Exception.class, build);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' lacks '" + p + "'");
    }

    @Test
    void invalidOptionsAreRefused() {
        refused(() -> new LpBatchNorm.Builder().p(0.5).build(), "LpBatchNorm", "p must be >= 1", "0.5");
        refused(() -> new LpBatchNorm.Builder().topK(0).build(), "LpBatchNorm", "k must be >= 1", "0");
        refused(() -> new GhostBatchNorm.Builder().virtualBatchSize(1).build(), "GhostBatchNorm", "virtualBatchSize must be >= 2", "1");
        refused(() -> new BatchNorm.Builder().virtualBatchSize(1).build(), "BatchNorm", "virtualBatchSize must be >= 2", "1");
        refused(() -> new BatchNorm.Builder().eps(0).build(), "BatchNorm", "eps must be > 0", "0.0");
        refused(() -> new LayerNorm.Builder().eps(-1).build(), "LayerNorm", "eps must be > 0", "-1.0");
        refused(() -> new BatchNorm.Builder().decay(1).build(), "BatchNorm", "decay must be in [0, 1)", "1.0");
        refused(() -> NoiseConfig.of(0.5, 0.9, 0.1, 0.1, 0), "noise", "nSigma >= 1", "nSigma=0.9");
        refused(() -> new BatchRenorm.Builder().rMax(0.5).build(), "BatchRenorm", "rMax must be >= 1", "0.5");
        refused(() -> new BatchRenorm.Builder().dMax(-1).build(), "BatchRenorm", "dMax must be >= 0", "-1.0");
        refused(() -> new BatchRenorm.Builder().runningStats(false).build(), "BatchRenorm", "needs running statistics");
        refused(() -> new GroupNorm.Builder(0).build(), "GroupNorm", "groups must be >= 1", "0");
        refused(() -> new GroupNorm.Builder(4).nIn(6).build(), "GroupNorm", "groups must divide the number of channels 6",
                "groups = 4");
        refused(() -> net(new GroupNorm.Builder(4).build()), "GroupNorm", "groups must divide the number of channels 6",
                "groups = 4");
        refused(() -> new BatchNorm.Builder().runningStats(false).frozenStatistics(true).build(), "BatchNorm",
                "frozenStatistics needs running statistics");
        refused(() -> new BatchNorm.Builder().fixedGamma(Double.NaN).build(), "BatchNorm", "fixedGamma must be finite", "NaN");
        refused(() -> new NoiseInjection.Builder().statistic(org.bn4j.core.Statistic.variance()), "NoiseInjection", "no statistic");
        refused(() -> net(new InstanceNorm.Builder().build()), "InstanceNorm", "needs CNN", "InputTypeFeedForward(6)");
    }

    /** What a user sets on the layer's builder from DL4J's FeedForwardLayer: refused where it makes no sense. */
    @Test
    void inheritedOptionsThatDoNotApplyAreRefused() {
        refused(() -> new BatchNorm.Builder().dropOut(0.5).build(), "BatchNorm", "dropout", "not supported");
        refused(() -> new LayerNorm.Builder().weightNoise(new DropConnect(0.5)).build(), "LayerNorm", "weight noise");
        refused(() -> new BatchNorm.Builder().constrainWeights(new NonNegativeConstraint()).build(), "BatchNorm",
                "no weights or biases to constrain", "constrainGamma");
        refused(() -> new BatchNorm.Builder().l2(1e-3).fixedGamma(2).build(), "BatchNorm", "regularization set for a γ or β that is not learned");
        refused(() -> new RMSNorm.Builder().constrainBeta(new NonNegativeConstraint()).build(), "RMSNorm", "constrainBeta",
                "no learned parameter");
    }

    private static MultiLayerNetwork net(Layer norm) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new Sgd(0.5))
                .activation(Activation.SIGMOID).l2(0.3).list()    // network-wide settings the norm layer does not take
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.IDENTITY).build())
                .layer(norm)
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(3)).build();
        MultiLayerNetwork n = new MultiLayerNetwork(conf);
        n.init();
        return n;
    }

    private static DataSet data() {
        Nd4j.getRandom().setSeed(4);
        return new DataSet(Nd4j.randn(DataType.DOUBLE, 16, 3), Nd4j.randn(DataType.DOUBLE, 16, 2));
    }

    /** An activation on the layer's builder is applied after the normalization; the network-wide one is not. */
    @Test
    void activationIsHonoured() {
        MultiLayerNetwork withAct = net(new BatchNorm.Builder().activation(Activation.TANH).build());
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new Sgd(0.5))
                .activation(Activation.SIGMOID).l2(0.3).list()    // as net(): only the activation's place differs
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().build())
                .layer(new ActivationLayer(Activation.TANH))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(3)).build();
        MultiLayerNetwork separate = new MultiLayerNetwork(conf);
        separate.init();
        separate.setParams(withAct.params());
        DataSet ds = data();
        Exact.assertSame(separate.output(ds.getFeatures(), false), withAct.output(ds.getFeatures(), false), "inference");
        Exact.assertSame(separate.output(ds.getFeatures(), true), withAct.output(ds.getFeatures(), true), "training output");
        withAct.fit(ds);
        separate.fit(ds);
        assertTrue(separate.params().equalsWithEps(withAct.params(), 1e-12), "a training step through the activation");
        // the network-wide sigmoid does not reach a norm layer with its default (identity)
        MultiLayerNetwork plain = net(new BatchNorm.Builder().build());
        assertInstanceOf(org.nd4j.linalg.activations.impl.ActivationIdentity.class,
                ((AbstractNormLayer) plain.getLayer(1).conf().getLayer()).activation());
    }

    /** l2 set on the layer applies to γ (its bias form to β); the network-wide l2 does not. */
    @Test
    void regularizationOnTheLayerIsHonoured() {
        MultiLayerNetwork reg = net(new BatchNorm.Builder().l2(0.3).build()), none = net(new BatchNorm.Builder().build());
        none.setParams(reg.params());
        DataSet ds = data();
        reg.fit(ds);
        none.fit(ds);
        INDArray g1 = reg.getLayer(1).getParam("gamma"), g0 = none.getLayer(1).getParam("gamma");
        // SGD with L2 (DL4J applies it as w ← w − lr·(g + l2·w)): γ differs by lr·l2·γ_before = 0.5·0.3·1
        assertTrue(g0.sub(g1).sub(0.15).amaxNumber().doubleValue() < 1e-9, "γ with l2 = " + g1 + ", without = " + g0);
        Exact.assertSame(none.getLayer(1).getParam("beta"), reg.getLayer(1).getParam("beta"), "β has no l2 (no l2Bias set)");
        assertNull(((AbstractNormLayer) none.getLayer(1).conf().getLayer()).getRegularizationByParam("mean"), "state");
        assertTrue(((AbstractNormLayer) none.getLayer(1).conf().getLayer()).getRegularizationByParam("gamma").isEmpty(),
                "the network-wide l2 does not reach γ");
    }

    @Test
    void constraintsOnGammaAreHonoured() {
        MultiLayerNetwork n = net(new BatchNorm.Builder().gammaInit(0.01).constrainGamma(new NonNegativeConstraint()).build());
        for (int i = 0; i < 20; i++) n.fit(data());
        assertTrue(n.getLayer(1).getParam("gamma").minNumber().doubleValue() >= 0, "γ ≥ 0: " + n.getLayer(1).getParam("gamma"));
        MultiLayerNetwork free = net(new BatchNorm.Builder().gammaInit(0.01).build());
        for (int i = 0; i < 20; i++) free.fit(data());
        assertTrue(free.getLayer(1).getParam("gamma").minNumber().doubleValue() < 0,
                "without the constraint some γ goes negative here (else this test shows nothing)");
    }

    @Test
    void fixedGammaAndBetaAreNotParametersAndSurviveJson() {
        BatchNorm conf = new BatchNorm.Builder().fixedGamma(2).fixedBeta(0.5).build();
        MultiLayerNetwork n = net(conf);
        assertEquals(List.of("mean", "var"), List.copyOf(n.getLayer(1).paramTable().keySet()));
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(n.getLayerWiseConfigurations().toJson());
        assertEquals(n.getLayerWiseConfigurations(), back);
        assertEquals(2.0, ((BatchNorm) back.getConf(1).getLayer()).getFixedGamma());
    }
}
