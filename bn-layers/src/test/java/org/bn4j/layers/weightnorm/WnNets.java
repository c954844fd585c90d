package org.bn4j.layers.weightnorm;

import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.check.InputKind;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;

/** Small double-precision networks around a weight-norm case: pre-layer → weight-norm layer "wn" → head → loss. */
final class WnNets {
    static final long C = 3, S = 5, CLASSES = 3;
    static final String NAME = "wn";

    private WnNets() {
    }

    static AbstractWeightNormLayer conf(WnCase c) {
        AbstractWeightNormLayer l = c.conf();
        l.setLayerName(NAME);
        return l;
    }

    static InputType inputType(InputKind k) {
        return k.inputType(C, S);
    }

    /** A layer with parameters before the weight-norm layer, so the gradient check covers the layer's dx. */
    static org.deeplearning4j.nn.conf.layers.Layer pre(InputKind k) {
        return k == InputKind.FF ? new DenseLayer.Builder().nOut(C).activation(Activation.IDENTITY).build()
                : new ConvolutionLayer.Builder(1, 1).nOut(C).activation(Activation.IDENTITY).dataFormat(format(k))
                .convolutionMode(ConvolutionMode.Same).build();
    }

    static CNN2DFormat format(InputKind k) {
        return k == InputKind.CNN_NHWC ? CNN2DFormat.NHWC : CNN2DFormat.NCHW;
    }

    static List<org.deeplearning4j.nn.conf.layers.Layer> head(InputKind k) {
        List<org.deeplearning4j.nn.conf.layers.Layer> h = new ArrayList<>();
        if (k.isCnn()) h.add(new GlobalPoolingLayer.Builder(PoolingType.AVG).build());
        h.add(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CLASSES).activation(Activation.SOFTMAX).build());
        return h;
    }

    static NeuralNetConfiguration.Builder base(IUpdater updater, long seed) {
        return new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(seed).updater(updater)
                .weightInit(WeightInit.XAVIER);
    }

    /** pre → wn → head as a MultiLayerNetwork (the weight-norm layer has index 1). */
    static MultiLayerNetwork mln(WnCase c, IUpdater updater, long seed) {
        NeuralNetConfiguration.ListBuilder b = base(updater, seed).list().layer(pre(c.kind())).layer(conf(c));
        head(c.kind()).forEach(b::layer);
        MultiLayerNetwork net = new MultiLayerNetwork(b.setInputType(inputType(c.kind())).build());
        net.init();
        return net;
    }

    static ComputationGraph graph(WnCase c, IUpdater updater, long seed) {
        ComputationGraphConfiguration.GraphBuilder g = base(updater, seed).graphBuilder().addInputs("in")
                .addLayer("pre", pre(c.kind()), "in").addLayer(NAME, conf(c), "pre");
        String last = NAME;
        int i = 0;
        for (org.deeplearning4j.nn.conf.layers.Layer h : head(c.kind())) {
            String name = "head" + i++;
            g.addLayer(name, h, last);
            last = name;
        }
        ComputationGraph net = new ComputationGraph(g.setOutputs(last).setInputTypes(inputType(c.kind())).build());
        net.init();
        return net;
    }

    /** A network of one layer alone (with its input type), to drive the layer directly. */
    static MultiLayerNetwork alone(org.deeplearning4j.nn.conf.layers.Layer layer, InputKind kind, long seed) {
        MultiLayerConfiguration conf = base(new NoOp(), seed).list().layer(layer).setInputType(inputType(kind)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    static INDArray input(InputKind k, long n, long seed) {
        return input(k, n, S, seed);
    }

    static INDArray input(InputKind k, long n, long spatial, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, k.shape(n, C, spatial)).muli(1.5).addi(0.3);
    }

    static INDArray labels(long n, long seed) {
        Nd4j.getRandom().setSeed(seed + 1);
        INDArray r = Nd4j.rand(DataType.DOUBLE, n, CLASSES);
        return r.eq(r.max(true, 1).broadcast(r.shape())).castTo(DataType.DOUBLE);
    }

    static DataSet dataSet(WnCase c, long n, long seed) {
        return new DataSet(input(c.kind(), n, seed), labels(n, seed));
    }

    static LayerWorkspaceMgr noWs() {
        return LayerWorkspaceMgr.noWorkspaces();
    }

    static WeightNormLayerImpl wnLayer(MultiLayerNetwork net) {
        for (Layer l : net.getLayers()) if (l instanceof WeightNormLayerImpl w) return w;
        throw new IllegalStateException("no weight-norm layer");
    }
}
