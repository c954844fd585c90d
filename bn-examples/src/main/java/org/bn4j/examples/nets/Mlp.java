package org.bn4j.examples.nets;

import java.util.function.Supplier;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * The small MLP of the {@code compare} experiment:
 * {@code 784 → dense 256 → [norm] → ReLU → dense 10 → softmax} (cross-entropy loss), Xavier
 * (Glorot) uniform initialization, float32. The first dense layer has no bias when a normalization
 * layer follows it (the norm's β takes its place). No regularization.
 */
public final class Mlp {

    private Mlp() {
    }

    /**
     * @param inputs  input width (784 for Fashion-MNIST)
     * @param hidden  hidden width (256 in {@code compare})
     * @param classes number of classes
     * @param norm    normalization layer between the dense layer and the ReLU, or null for none;
     *                its size must be inferred from the input type
     */
    public static MultiLayerConfiguration conf(int inputs, int hidden, int classes, Supplier<Layer> norm,
                                               IUpdater updater, long seed) {
        boolean hasNorm = norm != null;
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(WeightInit.XAVIER_UNIFORM)
                .list()
                .layer(new DenseLayer.Builder().nOut(hidden).activation(Activation.IDENTITY).hasBias(!hasNorm).build());
        if (hasNorm) {
            b.layer(norm.get());
        }
        b.layer(new ActivationLayer.Builder().activation(Activation.RELU).build());
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX).build());
        return b.setInputType(InputType.feedForward(inputs)).build();
    }

    /** Builds and initializes the network. */
    public static MultiLayerNetwork build(int inputs, int hidden, int classes, Supplier<Layer> norm, IUpdater updater, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf(inputs, hidden, classes, norm, updater, seed));
        net.init();
        return net;
    }
}
