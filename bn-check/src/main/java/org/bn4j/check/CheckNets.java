package org.bn4j.check;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Convolution3D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Small networks around a layer under test: [a layer with parameters before it] → the layer → a head → a loss, as a
 * {@code MultiLayerNetwork} or a {@code ComputationGraph}, and their data. The layer before makes a gradient check
 * cover the tested layer's input gradient. The layer under test is named {@value #NAME}.
 */
public final class CheckNets {
    /** Name of the layer under test in every network. */
    public static final String NAME = "tested";
    /** Output classes of the head. */
    public static final long CLASSES = 3;

    private CheckNets() {
    }

    /** One configuration of the layer under test: a fresh copy, named {@value #NAME}. */
    static Layer tested(Supplier<? extends Layer> layer) {
        Layer l = layer.get();
        l.setLayerName(NAME);
        return l;
    }

    /** A layer with parameters producing {@code c} channels of this kind from the input. */
    static Layer pre(InputKind k, long c) {
        return switch (k) {
            case FF -> new DenseLayer.Builder().nOut(c).activation(Activation.IDENTITY).build();
            case CNN_NCHW, CNN_NHWC -> new ConvolutionLayer.Builder(1, 1).nOut(c).activation(Activation.IDENTITY)
                    .dataFormat(k.cnnFormat()).convolutionMode(ConvolutionMode.Same).build();
            case CNN3D_NCDHW, CNN3D_NDHWC -> new Convolution3D.Builder(1, 1, 1).nOut(c).activation(Activation.IDENTITY)
                    .dataFormat(k.cnn3dFormat()).convolutionMode(ConvolutionMode.Same).build();
            case RNN_NCW, RNN_NWC -> new SimpleRnn.Builder().nOut(c).activation(Activation.IDENTITY)
                    .dataFormat(k.rnnFormat()).build();
        };
    }

    /** Pooling (for CNN input) and a softmax output with cross-entropy loss. */
    static List<Layer> head(InputKind k) {
        List<Layer> h = new ArrayList<>();
        if (k.isRnn()) {
            h.add(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).dataFormat(k.rnnFormat()).build());
            return h;
        }
        if (k.isCnn()) h.add(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
        // DL4J's global pooling assumes NCDHW for 3-D input: NDHWC pools over axes 1-3
        if (k.isCnn3d()) h.add(new GlobalPoolingLayer.Builder(PoolingType.AVG)
                .poolingDimensions(k == InputKind.CNN3D_NCDHW ? new int[]{2, 3, 4} : new int[]{1, 2, 3}).build());
        h.add(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build());
        return h;
    }

    static NeuralNetConfiguration.Builder base(IUpdater updater, long seed, DataType dataType) {
        return new NeuralNetConfiguration.Builder().dataType(dataType).seed(seed).updater(updater)
                .weightInit(WeightInit.XAVIER);
    }

    /** pre → layer → head, as a MultiLayerNetwork in double precision; without {@code withPre} the layer is first. */
    public static MultiLayerNetwork mln(Supplier<? extends Layer> layer, InputKind k, Size size, IUpdater updater,
                                       boolean withPre, long seed) {
        NeuralNetConfiguration.ListBuilder b = base(updater, seed, DataType.DOUBLE).list();
        if (withPre) b.layer(pre(k, size.channels()));
        b.layer(tested(layer));
        head(k).forEach(b::layer);
        MultiLayerConfiguration conf = b.setInputType(k.inputType(size.channels(), size.side())).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** pre → layer → head, as a ComputationGraph in double precision. */
    public static ComputationGraph graph(Supplier<? extends Layer> layer, InputKind k, Size size, IUpdater updater, long seed) {
        ComputationGraphConfiguration.GraphBuilder g = base(updater, seed, DataType.DOUBLE).graphBuilder().addInputs("in")
                .addLayer("pre", pre(k, size.channels()), "in").addLayer(NAME, tested(layer), "pre");
        String last = NAME;
        int i = 0;
        for (Layer h : head(k)) {
            String name = "head" + i++;
            g.addLayer(name, h, last);
            last = name;
        }
        ComputationGraph net = new ComputationGraph(g.setOutputs(last)
                .setInputTypes(k.inputType(size.channels(), size.side())).build());
        net.init();
        return net;
    }

    /** A network of the layer alone, in the given precision, to drive the layer directly. */
    public static MultiLayerNetwork alone(Supplier<? extends Layer> layer, InputKind k, Size size, DataType dataType) {
        MultiLayerConfiguration conf = base(new org.nd4j.linalg.learning.config.NoOp(), 1, dataType).list()
                .layer(tested(layer)).setInputType(k.inputType(size.channels(), size.side())).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    /** Gaussian input with mean 0.3 and standard deviation 1.5, in double precision. */
    public static INDArray input(InputKind k, Size size, long n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, k.shape(n, size.channels(), size.side())).muli(1.5).addi(0.3);
    }

    /** One-hot labels for the head of this kind. */
    public static INDArray labels(InputKind k, Size size, long n, long seed) {
        Nd4j.getRandom().setSeed(seed + 1);
        long t = size.side();
        long[] shape = k == InputKind.RNN_NCW ? new long[]{n, CLASSES, t} : k == InputKind.RNN_NWC
                ? new long[]{n, t, CLASSES} : new long[]{n, CLASSES};
        int classAxis = k == InputKind.RNN_NCW ? 1 : shape.length - 1;
        INDArray r = Nd4j.rand(DataType.DOUBLE, shape);
        return r.eq(r.max(true, classAxis).broadcast(shape)).castTo(DataType.DOUBLE);
    }

    /** An RNN mask [n, T] with the last steps of some sequences masked (sample i loses i mod 3 steps). */
    public static INDArray mask(Size size, long n) {
        long t = size.side();
        INDArray m = Nd4j.ones(DataType.DOUBLE, n, t);
        for (long i = 0; i < n; i++) {
            for (long j = t - (i % 3); j < t; j++) m.putScalar(i, j, 0.0);
        }
        return m;
    }

    /** A data set of n samples (with the mask as features and labels mask when masked). */
    public static DataSet dataSet(InputKind k, Size size, boolean masked, long n, long seed) {
        INDArray mask = masked ? mask(size, n) : null;
        return new DataSet(input(k, size, n, seed), labels(k, size, n, seed), mask, mask);
    }
}
