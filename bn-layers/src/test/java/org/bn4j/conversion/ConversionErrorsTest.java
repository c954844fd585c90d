package org.bn4j.conversion;

import org.bn4j.convert.NormConverter;
import org.bn4j.convert.NormFactory;
import org.bn4j.convert.NormFolder;
import org.bn4j.convert.NormSelector;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.bn4j.conversion.Nets.assertIdentical;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input gets an error naming the layer, what was expected and what came, and leaves the given network as it was.
 */
class ConversionErrorsTest {
    private static final NormFactory BN4J = NormFactory.bn4j(BatchNorm.Builder::new);

    private static MultiLayerNetwork trained() {
        MultiLayerNetwork net = SmallNets.mln(SmallNets.dl4jBn(), SmallNets.dl4jBn());
        SmallNets.train(net);
        return net;
    }

    /** The call fails with this exception type and a message containing every fragment; the network is unchanged. */
    private static <T extends Throwable> void assertRejected(MultiLayerNetwork net, Class<T> type, Executable call,
                                                             String... fragments) {
        INDArray params = net.params().dup();
        String conf = net.getLayerWiseConfigurations().toJson();
        T e = assertThrows(type, call);
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "message lacks '" + f + "': " + e.getMessage());
        assertIdentical(params, net.params(), "parameters after the failed call");
        assertEquals(conf, net.getLayerWiseConfigurations().toJson(), "configuration after the failed call");
    }

    @Test
    void selectorThatMatchesNothing() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.ofType(LayerNorm.class), BN4J).convert(net),
                "matched no layer", "layers of type [LayerNorm]", "[bn1, bn2]");
    }

    @Test
    void nameNotInTheNetwork() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.named("bn3"), BN4J).convert(net), "no layer named 'bn3'", "[bn1, bn2]");
    }

    @Test
    void nameOfAnotherLayer() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.named("dense"), BN4J).convert(net),
                "layer 3 'dense' is a DenseLayer, not a normalization layer");
    }

    @Test
    void typeThatIsNotANormalizationLayer() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NormSelector.ofType(DenseLayer.class));
        assertTrue(e.getMessage().contains("DenseLayer is not a normalization layer"), e.getMessage());
    }

    /** DL4J's batch norm takes 3-D convolution input; bn4j's layers do not. */
    @Test
    void targetThatCannotTakeTheInputType() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.all(), NormFactory.bn4j(org.bn4j.layers.InstanceNorm.Builder::new))
                        .inputTypes(SmallNets.INPUT).convert(net),
                "'bn2'", "InstanceNorm cannot take the layer's input type", "InstanceNorm needs CNN");
    }

    @Test
    void targetWithOtherFeatures() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.all(), old -> new BatchNorm.Builder().nIn(7).build()).convert(net),
                "layer 1 'bn1'", "has nIn 7, nOut 7", "4 features");
    }

    @Test
    void factoryThatMakesNoNormalizationLayer() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(),
                        old -> new DenseLayer.Builder().nIn(4).nOut(4).build()).convert(net),
                "layer 1 'bn1'", "the factory returned org.deeplearning4j.nn.conf.layers.DenseLayer");
    }

    /** The configuration says 6 features, the parameters hold 4 (a layer edited after init). */
    @Test
    void parametersThatDoNotMatchTheConfiguration() {
        MultiLayerNetwork net = trained();
        FeedForwardLayer bn = (FeedForwardLayer) net.getLayerWiseConfigurations().getConf(1).getLayer();
        bn.setNIn(6);
        bn.setNOut(6);
        assertRejected(net, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(), BN4J).convert(net),
                "layer 1 'bn1'", "parameters do not match its configuration", "nIn 6", "24 parameter values",
                "the network holds 16");
    }

    @Test
    void networkNotInitialized() {
        MultiLayerNetwork net = new MultiLayerNetwork(trained().getLayerWiseConfigurations());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.all(), BN4J).convert(net));
        assertTrue(e.getMessage().contains("MultiLayerNetwork is not initialized"), e.getMessage());
        ComputationGraph graph = new ComputationGraph(SmallNets.graph(SmallNets.dl4jBn(), SmallNets.dl4jBn()).getConfiguration());
        e = assertThrows(IllegalArgumentException.class, () -> NormFolder.fold(graph));
        assertTrue(e.getMessage().contains("ComputationGraph is not initialized"), e.getMessage());
    }

    @Test
    void twoInputTypesForAMultiLayerNetwork() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(), BN4J)
                .inputTypes(SmallNets.INPUT, SmallNets.INPUT).convert(net), "one input; got 2 input types");
    }

    /** A bn4j layer with only β fixed has no DL4J equivalent: DL4J's lockGammaBeta fixes both. */
    @Test
    void halfFixedAffineHasNoDl4jEquivalent() {
        MultiLayerNetwork net = SmallNets.mln(new BatchNorm.Builder().fixedBeta(0.5).build(), SmallNets.dl4jBn());
        SmallNets.train(net);
        assertRejected(net, IllegalArgumentException.class,
                () -> new NormConverter(NormSelector.ofType(BatchNorm.class), NormFactory.dl4j()).convert(net),
                "BatchNorm 'bn1'", "γ trained, β = 0.5", "fixes both or neither");
    }

    @Test
    void trainedGammaIntoAFixedOne() {
        MultiLayerNetwork net = trained();
        assertRejected(net, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(),
                        NormFactory.bn4j(() -> new BatchNorm.Builder().affine(false))).convert(net),
                "layer 1 'bn1'", "holds γ fixed at 1.0", "trained values would be lost");
    }

    @Test
    void noDl4jEquivalent() {
        MultiLayerNetwork bn4j = SmallNets.mln(new GhostBatchNorm.Builder().build(), new LayerNorm.Builder().build());
        assertRejected(bn4j, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(), NormFactory.dl4j())
                .convert(bn4j), "GhostBatchNorm 'bn1'", "DL4J has no equivalent of GhostBatchNorm");
    }

    /** DL4J's layer mis-handles RNN input: the reverse conversion refuses it when the input type is known. */
    @Test
    void dl4jCannotTakeRnnInput() {
        MultiLayerConfiguration conf = SmallNets.base().list()
                .layer(new SimpleRnn.Builder().nOut(3).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().name("bn").build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(2, 5)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        assertRejected(net, IllegalArgumentException.class, () -> new NormConverter(NormSelector.all(), NormFactory.dl4j())
                .inputTypes(InputType.recurrent(2, 5)).convert(net), "BatchNorm 'bn'", "does not handle RNN input");
    }
}
