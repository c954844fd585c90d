package org.bn4j.conversion;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small hand-made networks (float64) for the cases the zoo does not have. */
final class SmallNets {
    static final InputType INPUT = InputType.convolutional(6, 6, 2);

    private SmallNets() {
    }

    static NeuralNetConfiguration.Builder base() {
        return new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(1).updater(new Sgd(0.1))
                .weightInit(WeightInit.XAVIER);
    }

    /** conv (identity) → norm → relu → dense (identity) → norm → output, as a MultiLayerNetwork. */
    static MultiLayerNetwork mln(Layer convNorm, Layer denseNorm) {
        MultiLayerConfiguration conf = base().list()
                .layer(new ConvolutionLayer.Builder(3, 3).name("conv").nOut(4).activation(Activation.IDENTITY)
                        .convolutionMode(ConvolutionMode.Same).build())
                .layer(named(convNorm, "bn1"))
                .layer(new ActivationLayer.Builder().name("relu").activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().name("dense").nOut(5).activation(Activation.IDENTITY).build())
                .layer(named(denseNorm, "bn2"))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).name("out").nOut(3)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(INPUT).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** The same layers as a ComputationGraph, NHWC. */
    static ComputationGraph graph(Layer convNorm, Layer denseNorm) {
        ComputationGraphConfiguration conf = base().graphBuilder().addInputs("in")
                .addLayer("conv", new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.IDENTITY)
                        .convolutionMode(ConvolutionMode.Same).dataFormat(CNN2DFormat.NHWC).build(), "in")
                .addLayer("bn1", convNorm, "conv")
                .addLayer("relu", new ActivationLayer.Builder().activation(Activation.RELU).build(), "bn1")
                .addLayer("pool", new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), "relu")
                .addLayer("dense", new DenseLayer.Builder().nOut(5).activation(Activation.IDENTITY).build(), "pool")
                .addLayer("bn2", denseNorm, "dense")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "bn2")
                .setOutputs("out")
                .setInputTypes(InputType.convolutional(6, 6, 2, CNN2DFormat.NHWC)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    static Layer named(Layer l, String name) {
        l.setLayerName(name);
        return l;
    }

    static BatchNormalization dl4jBn() {
        return new BatchNormalization.Builder().build();
    }

    static INDArray input(long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.DOUBLE, 8, 2, 6, 6).muli(4).subi(1);
    }

    /** Five SGD steps, so that DL4J's running statistics (log10 σ) are its own. */
    static void train(MultiLayerNetwork net) {
        for (int i = 0; i < 5; i++) net.fit(new DataSet(input(i), labels()));
    }

    static void train(ComputationGraph net) {
        for (int i = 0; i < 5; i++) net.fit(new INDArray[]{input(i).permute(0, 2, 3, 1).dup()}, new INDArray[]{labels()});
    }

    static INDArray labels() {
        INDArray y = Nd4j.zeros(DataType.DOUBLE, 8, 3);
        for (int i = 0; i < 8; i++) y.putScalar(i, i % 3, 1);
        return y;
    }
}
