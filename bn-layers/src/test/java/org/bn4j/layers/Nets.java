package org.bn4j.layers;

import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.bn4j.runtime.InputView;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;

/** Small double-precision networks around a layer case: [pre-layer] → norm → head → loss. */
final class Nets {
    static final long C = 3, S = 4, CLASSES = 3;

    private Nets() {
    }

    static org.deeplearning4j.nn.conf.layers.Layer normConf(LayerCase c) {
        org.deeplearning4j.nn.conf.layers.Layer l = c.layer().get();
        l.setLayerName("norm");
        return l;
    }

    /** A layer with parameters before the norm layer, so the gradient check covers the norm layer's dx. */
    private static org.deeplearning4j.nn.conf.layers.Layer pre(Kind k) {
        return switch (k) {
            case FF -> new DenseLayer.Builder().nOut(C).activation(Activation.IDENTITY).build();
            case CNN_NCHW, CNN_NHWC -> new ConvolutionLayer.Builder(1, 1).nOut(C).activation(Activation.IDENTITY)
                    .dataFormat(k == Kind.CNN_NCHW ? CNN2DFormat.NCHW : CNN2DFormat.NHWC)
                    .convolutionMode(ConvolutionMode.Same).build();
            case RNN_NCW, RNN_NWC -> new SimpleRnn.Builder().nOut(C).activation(Activation.IDENTITY)
                    .dataFormat(k == Kind.RNN_NCW ? RNNFormat.NCW : RNNFormat.NWC).build();
        };
    }

    private static List<org.deeplearning4j.nn.conf.layers.Layer> head(Kind k) {
        List<org.deeplearning4j.nn.conf.layers.Layer> h = new ArrayList<>();
        if (k.isRnn()) {
            h.add(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES)
                    .activation(Activation.SOFTMAX).dataFormat(k == Kind.RNN_NCW ? RNNFormat.NCW : RNNFormat.NWC).build());
            return h;
        }
        if (k.isCnn()) h.add(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
        h.add(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build());
        return h;
    }

    private static NeuralNetConfiguration.Builder base(IUpdater updater, long seed) {
        return base(updater, seed, DataType.DOUBLE);
    }

    private static NeuralNetConfiguration.Builder base(IUpdater updater, long seed, DataType dataType) {
        return new NeuralNetConfiguration.Builder().dataType(dataType).seed(seed).updater(updater)
                .weightInit(WeightInit.XAVIER);
    }

    /** pre → norm → head, as a MultiLayerNetwork; with {@code withPre} false the norm layer is first. */
    static MultiLayerNetwork mln(LayerCase c, IUpdater updater, boolean withPre, long seed) {
        NeuralNetConfiguration.ListBuilder b = base(updater, seed).list();
        if (withPre) b.layer(pre(c.kind()));
        b.layer(normConf(c));
        head(c.kind()).forEach(b::layer);
        MultiLayerConfiguration conf = b.setInputType(c.kind().inputType(C, S)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** A network of the norm layer alone, to drive the layer directly. */
    static MultiLayerNetwork alone(LayerCase c) {
        return alone(c, DataType.DOUBLE);
    }

    /** A network of the norm layer alone in the given precision. */
    static MultiLayerNetwork alone(LayerCase c, DataType dataType) {
        MultiLayerConfiguration conf = base(new org.nd4j.linalg.learning.config.NoOp(), 1, dataType).list()
                .layer(normConf(c)).setInputType(c.kind().inputType(C, S)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    static ComputationGraph graph(LayerCase c, IUpdater updater, long seed) {
        ComputationGraphConfiguration.GraphBuilder g = base(updater, seed).graphBuilder().addInputs("in")
                .addLayer("pre", pre(c.kind()), "in").addLayer("norm", normConf(c), "pre");
        String last = "norm";
        int i = 0;
        for (org.deeplearning4j.nn.conf.layers.Layer h : head(c.kind())) {
            String name = "head" + i++;
            g.addLayer(name, h, last);
            last = name;
        }
        ComputationGraph net = new ComputationGraph(g.setOutputs(last).setInputTypes(c.kind().inputType(C, S)).build());
        net.init();
        return net;
    }

    static INDArray input(LayerCase c, long n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, c.kind().shape(n, C, S)).muli(1.5).addi(0.3);
    }

    static INDArray labels(LayerCase c, long n, long seed) {
        Nd4j.getRandom().setSeed(seed + 1);
        Kind k = c.kind();
        long[] shape = k == Kind.RNN_NCW ? new long[]{n, CLASSES, S} : k == Kind.RNN_NWC ? new long[]{n, S, CLASSES}
                : new long[]{n, CLASSES};
        int classAxis = k == Kind.RNN_NCW ? 1 : shape.length - 1;
        INDArray r = Nd4j.rand(DataType.DOUBLE, shape);
        INDArray max = r.max(true, classAxis);
        return r.eq(k == Kind.RNN_NCW ? max.broadcast(shape) : max.broadcast(shape)).castTo(DataType.DOUBLE);
    }

    /** An RNN mask [n, T] with the last steps of some sequences masked, or null. */
    static INDArray mask(LayerCase c, long n) {
        if (!c.masked()) return null;
        INDArray m = Nd4j.ones(DataType.DOUBLE, n, S);
        for (long i = 0; i < n; i++) {
            for (long t = S - (i % 3); t < S; t++) m.putScalar(i, t, 0.0);
        }
        return m;
    }

    static LayerWorkspaceMgr noWs() {
        return LayerWorkspaceMgr.noWorkspaces();
    }

    static Layer normLayer(MultiLayerNetwork net) {
        for (Layer l : net.getLayers()) if (l instanceof NormLayerImpl) return l;
        throw new IllegalStateException("no norm layer");
    }
}
