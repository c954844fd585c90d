package org.bn4j.diagnostics;

import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoisyBatchNorm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.ElementWiseVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small float32 networks of ordinary DL4J layers and bn4j norm layers, as a user would write them. */
final class TestNets {

    static final int IN = 8;
    static final int HIDDEN = 16;
    static final int CLASSES = 3;

    private TestNets() {
    }

    /** fc1 → norm1 (bn4j batch norm) → act1 tanh → fc2 → norm2 (noisy batch norm) → act2 ReLU → fc3 softmax. */
    static MultiLayerNetwork mlp(IUpdater updater, long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(updater).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nOut(HIDDEN).hasBias(false).activation(Activation.IDENTITY).name("fc1").build())
                .layer(new BatchNorm.Builder().name("norm1").build())
                .layer(new ActivationLayer.Builder().activation(Activation.TANH).name("act1").build())
                .layer(new DenseLayer.Builder().nOut(HIDDEN).hasBias(false).activation(Activation.IDENTITY).name("fc2").build())
                .layer(new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(seed)).name("norm2").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("act2").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX)
                        .name("fc3").build())
                .setInputType(InputType.feedForward(IN)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /**
     * in → d1 → n1 (bn4j batch norm) → a1 ReLU → d2 → n2 (DL4J's BatchNormalization); res = a1 + n2 → a2 tanh →
     * out softmax.
     */
    static ComputationGraph graph(IUpdater updater, long seed) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(updater).weightInit(WeightInit.XAVIER).graphBuilder()
                .addInputs("in")
                .addLayer("d1", new DenseLayer.Builder().nOut(HIDDEN).hasBias(false).activation(Activation.IDENTITY).build(), "in")
                .addLayer("n1", new BatchNorm.Builder().build(), "d1")
                .addLayer("a1", new ActivationLayer.Builder().activation(Activation.RELU).build(), "n1")
                .addLayer("d2", new DenseLayer.Builder().nOut(HIDDEN).hasBias(false).activation(Activation.IDENTITY).build(), "a1")
                .addLayer("n2", new BatchNormalization.Builder().build(), "d2")
                .addVertex("res", new ElementWiseVertex(ElementWiseVertex.Op.Add), "a1", "n2")
                .addLayer("a2", new ActivationLayer.Builder().activation(Activation.TANH).build(), "res")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                        .activation(Activation.SOFTMAX).build(), "a2")
                .setOutputs("out")
                .setInputTypes(InputType.feedForward(IN)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    /** {@code n} Gaussian examples with labels from a fixed rule (so the networks can learn), from {@code seed}. */
    static DataSet batch(int n, long seed) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        INDArray x = Nd4j.randn(Nd4j.createUninitialized(DataType.FLOAT, n, IN), rng);
        INDArray y = Nd4j.zeros(DataType.FLOAT, n, CLASSES);
        for (int i = 0; i < n; i++) {
            int c = (int) Math.floorMod(Math.round(3 * x.getDouble(i, 0) + x.getDouble(i, 1)), CLASSES);
            y.putScalar(i, c, 1);
        }
        return new DataSet(x, y);
    }
}
