package org.bn4j.exec;

import org.bn4j.layers.BatchNorm;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The library without the Vector API (run by its own surefire execution, without {@code --add-modules
 * jdk.incubator.vector}): graphs run unfused, the fused path says what it needs, and a network trains.
 */
class NoVectorApiTest {

    @Test
    void runsUnfusedWithoutTheModule() {
        assertFalse(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(), "this test runs without the module");
        assertEquals(CompiledGraph.Path.UNFUSED, CompiledGraph.defaultPath());
        assertEquals(CompiledGraph.Path.UNFUSED, CompiledGraph.withPath(CompiledGraph.Path.FUSED, CompiledGraph::defaultPath),
                "asking for the fused path without the module gives the unfused one");

        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, 8, 4);
        SDVariable y = x.sub(x.mean(true, 0)).mul(2.0);
        CompiledGraph g = CompiledGraph.of(sd, List.of("x"), List.of(y.name()));
        Map<String, INDArray> in = Map.of("x", Nd4j.randn(DataType.FLOAT, 8, 4));
        assertTrue(g.run(in).get(y.name()).equalsWithEps(g.runSameDiff(in).get(y.name()), 1e-6));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> g.run(CompiledGraph.Path.FUSED, in));
        assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());

        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).updater(new Sgd(0.1)).list()
                .layer(new BatchNorm.Builder().build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(4)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray features = Nd4j.randn(DataType.FLOAT, 16, 4), labels = Nd4j.randn(DataType.FLOAT, 16, 2);
        double before = net.score(new org.nd4j.linalg.dataset.DataSet(features, labels));
        for (int i = 0; i < 20; i++) net.fit(features, labels);
        assertTrue(net.score(new org.nd4j.linalg.dataset.DataSet(features, labels)) < before, "the network trains");
    }
}
