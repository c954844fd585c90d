package org.bn4j.examples.nets;

import org.bn4j.layers.weightnorm.WeightNormDense;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Multilayer perceptrons of the experiments:
 * {@code inputs → [dense h_k → norm → activation] × K → dense classes → softmax} (cross-entropy). A dense layer
 * followed by a normalization layer has no bias (the norm's β takes its place). Layers are named {@code fc1..fcK},
 * {@code norm1..normK}, {@code act1..actK}, {@code out}. float32, no regularization; the variant's initialization
 * (Xavier uniform, or LeCun normal for SELU).
 *
 * <p>{@code compare} uses 784 → 256 → [norm] → ReLU → 10; {@code saturation} uses 784 → 100 → [norm] → tanh →
 * 100 → [norm] → tanh → 10.
 */
public final class Mlp {

    private Mlp() {
    }

    /**
     * @param hidden     widths of the hidden layers
     * @param activation hidden activation (replaced by SELU for the SELU variant)
     */
    public static MultiLayerConfiguration conf(int inputs, int[] hidden, int classes, Variant v, Activation activation,
                                               IUpdater updater, long seed) {
        Activation act = v.activationOr(activation);
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(v.init())
                .list();
        for (int k = 0; k < hidden.length; k++) {
            if (v.weightNorm()) {
                b.layer(new WeightNormDense.Builder().nOut(hidden[k]).activation(Activation.IDENTITY).dataInit(true)
                        .name("fc" + (k + 1)).build());
            } else {
                b.layer(new DenseLayer.Builder().nOut(hidden[k]).activation(Activation.IDENTITY).hasBias(!v.hasNorm())
                        .name("fc" + (k + 1)).build());
            }
            if (v.hasNorm()) {
                Layer n = v.norm().get();
                n.setLayerName("norm" + (k + 1));
                b.layer(n);
            }
            b.layer(new ActivationLayer.Builder().activation(act).name("act" + (k + 1)).build());
        }
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX)
                .name("out").build());
        return b.setInputType(InputType.feedForward(inputs)).build();
    }

    /** Builds and initializes the network. */
    public static MultiLayerNetwork build(int inputs, int[] hidden, int classes, Variant v, Activation activation,
                                          IUpdater updater, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf(inputs, hidden, classes, v, activation, updater, seed));
        net.init();
        return net;
    }
}
