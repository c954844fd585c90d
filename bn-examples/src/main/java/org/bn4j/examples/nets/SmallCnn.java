package org.bn4j.examples.nets;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * A small convolutional network with DL4J's own {@code BatchNormalization}, as a user might have one: the stand-in for
 * "your model" in {@code docs/compare-your-model.md} ({@code compare-model --model org.bn4j.examples.nets.SmallCnn}).
 * <pre>
 *   28×28×1 → conv 5×5/2, 32 channels (no bias) → BatchNormalization → ReLU → max pool 2×2
 *           → dense 64 (no bias) → BatchNormalization → ReLU → dense 10 softmax
 * </pre>
 * Input type convolutional (NCHW), float32, He (ReLU) initialization, SGD with Nesterov momentum (lr 0.01, 0.9), seed 1.
 */
public final class SmallCnn {

    private SmallCnn() {
    }

    /** The configuration (private: the class has one public factory, so {@code --model} may name the class alone). */
    private static MultiLayerConfiguration conf() {
        return new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT).weightInit(WeightInit.RELU)
                .updater(new Nesterovs(0.01, 0.9)).list()
                .layer(new ConvolutionLayer.Builder(5, 5).stride(2, 2).nOut(32).hasBias(false).activation(Activation.IDENTITY)
                        .name("conv1").build())
                .layer(new BatchNormalization.Builder().name("bn1").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu1").build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).name("pool1").build())
                .layer(new DenseLayer.Builder().nOut(64).hasBias(false).activation(Activation.IDENTITY).name("fc2").build())
                .layer(new BatchNormalization.Builder().name("bn2").build())
                .layer(new ActivationLayer.Builder().activation(Activation.RELU).name("relu2").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(10).activation(Activation.SOFTMAX)
                        .name("out").build())
                .setInputType(InputType.convolutional(28, 28, 1)).build();
    }

    /** The network, initialized (the factory {@code compare-model --model org.bn4j.examples.nets.SmallCnn} calls). */
    public static MultiLayerNetwork network() {
        MultiLayerNetwork net = new MultiLayerNetwork(conf());
        net.init();
        return net;
    }
}
