package org.bn4j.examples.nets;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.impl.LossL2;

/**
 * The deep linear network of Santurkar et al. (2018): {@code depth} linear maps of {@code width × width} without
 * bias, {@code x → W_depth … W_1 x}, trained on the loss {@code ‖W_depth … W_1 x − A x‖²} (squared error summed over
 * the outputs, averaged over the samples) with A a random Gaussian matrix and Gaussian inputs, by full-batch gradient
 * descent. With a normalization variant a norm layer follows each of the first {@code depth − 1} linear maps.
 * Layers are named {@code lin1..lin<depth>} (the last is the output layer) and {@code norm1..}; float32.
 */
public final class DeepLinear {

    public static final int DEPTH = 25;
    public static final int WIDTH = 10;

    private DeepLinear() {
    }

    public static MultiLayerConfiguration conf(int depth, int width, Variant v, IUpdater updater, long seed) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(updater)
                .weightInit(WeightInit.XAVIER_UNIFORM)
                .list();
        for (int k = 1; k < depth; k++) {
            b.layer(new DenseLayer.Builder().nOut(width).activation(Activation.IDENTITY).hasBias(false).name("lin" + k).build());
            if (v.hasNorm()) {
                Layer n = v.norm().get();
                n.setLayerName("norm" + k);
                b.layer(n);
            }
        }
        // LossL2: squared error summed over the outputs (DL4J's SQUARED_LOSS enum is the mean over outputs, LossMSE)
        b.layer(new OutputLayer.Builder().lossFunction(new LossL2()).nOut(width).activation(Activation.IDENTITY)
                .hasBias(false).name("lin" + depth).build());
        return b.setInputType(InputType.feedForward(width)).build();
    }

    public static MultiLayerNetwork build(int depth, int width, Variant v, IUpdater updater, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(conf(depth, width, v, updater, seed));
        net.init();
        return net;
    }

    /** {@code n} Gaussian inputs x ~ N(0, I) and targets A x, A with N(0, 1) entries, from {@code seed}. */
    public static DataSet data(int n, int width, long seed) {
        Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed * 7919 + 17);
        INDArray a = Nd4j.randn(Nd4j.createUninitialized(DataType.FLOAT, width, width), rng);
        INDArray x = Nd4j.randn(Nd4j.createUninitialized(DataType.FLOAT, n, width), rng);
        return new DataSet(x, x.mmul(a.transpose()));
    }
}
