package org.bn4j.conversion;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.ResNet50;
import org.deeplearning4j.zoo.model.SimpleCNN;
import org.deeplearning4j.zoo.model.TinyYOLO;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Networks of DL4J's model zoo (deeplearning4j-zoo, built offline with their configurations, no pretrained weights),
 * at small input sizes, and what the tests do with them.
 */
enum Zoo {
    /** ComputationGraph, 18 batch norms after convolutions without bias, a LossLayer. */
    DARKNET19(64, () -> Darknet19.builder().numClasses(10).inputShape(new int[]{3, 64, 64}).build().conf()),
    /** ComputationGraph, 8 batch norms after convolutions without bias, a YOLO2 output layer. */
    TINY_YOLO(64, () -> TinyYOLO.builder().numClasses(10).inputShape(new int[]{3, 64, 64}).build().conf()),
    /** MultiLayerNetwork, 9 batch norms after convolutions with bias, dropout, no output layer. */
    SIMPLE_CNN(32, () -> SimpleCNN.builder().numClasses(10).inputShape(new int[]{3, 32, 32}).build().conf()),
    /** ComputationGraph, 53 batch norms, residual connections; 192 is about the smallest input it takes. */
    RESNET50(192, () -> ResNet50.builder().numClasses(10).inputShape(new int[]{3, 192, 192}).build().graphBuilder().build());

    final int size;
    private final Supplier<Object> conf;

    Zoo(int size, Supplier<Object> conf) {
        this.size = size;
        this.conf = conf;
    }

    InputType inputType() {
        return InputType.convolutional(size, size, 3);
    }

    /** The zoo's configuration in this data type (a new copy per call). */
    Object conf(DataType dt) {
        return conf(dt, false);
    }

    /**
     * The zoo's configuration in this data type (a new copy per call); {@code smooth}: with every ReLU and leaky ReLU
     * replaced by an ELU and every max pooling by average pooling, so that the gradient is a continuous function of the
     * activations (ELU's derivative is continuous at 0), for comparisons of float32 gradients with float64 ones.
     */
    Object conf(DataType dt, boolean smooth) {
        Object c = conf.get();
        List<org.deeplearning4j.nn.conf.layers.Layer> layers = new ArrayList<>();
        if (c instanceof MultiLayerConfiguration m) {
            m.setDataType(dt);
            for (NeuralNetConfiguration n : m.getConfs()) layers.add(n.getLayer());
        } else {
            ComputationGraphConfiguration g = (ComputationGraphConfiguration) c;
            g.setDataType(dt);
            for (GraphVertex v : g.getVertices().values()) if (v instanceof LayerVertex l) layers.add(l.getLayerConf().getLayer());
        }
        if (smooth) layers.forEach(Zoo::smooth);
        return c;
    }

    private static void smooth(org.deeplearning4j.nn.conf.layers.Layer l) {
        if (l instanceof BaseLayer b && kinked(b.getActivationFn())) b.setActivationFn(new ActivationELU());
        if (l instanceof ActivationLayer a && kinked(a.getActivationFn())) a.setActivationFn(new ActivationELU());
        if (l instanceof SubsamplingLayer s && s.getPoolingType() == PoolingType.MAX) s.setPoolingType(PoolingType.AVG);
    }

    private static boolean kinked(IActivation a) {
        return a instanceof ActivationReLU || a instanceof ActivationLReLU;
    }

    /**
     * The network in this data type, initialized, in a "trained" state: every batch norm gets γ in [0.5, 1.5] and β in
     * [−0.5, 0.5] at random, and as running statistics the batch statistics of its input on one batch in training
     * mode (so that inference sees activations of the scale training saw: the zoo's initial mean 0, σ 1 make the
     * deeper networks overflow in inference). DL4J stores σ as log10 σ.
     */
    Model trained(DataType dt, long seed) {
        return trained(dt, seed, false);
    }

    /** {@link #trained(DataType, long)}, of the smooth configuration if {@code smooth} ({@link #conf(DataType, boolean)}). */
    Model trained(DataType dt, long seed, boolean smooth) {
        Object c = conf(dt, smooth);
        Nd4j.getRandom().setSeed(seed);
        Model net;
        Map<String, INDArray> acts;
        Map<Layer, INDArray> inputs = new java.util.HashMap<>();
        if (c instanceof MultiLayerConfiguration m) {
            MultiLayerNetwork n = new MultiLayerNetwork(m);
            n.init();
            setGammaBeta(n.getLayers());
            java.util.List<INDArray> a = n.feedForward(input(dt, 4, seed), true);
            for (int i = 0; i < n.getnLayers(); i++) inputs.put(n.getLayer(i), a.get(i));
            net = n;
        } else {
            ComputationGraph g = new ComputationGraph((ComputationGraphConfiguration) c);
            g.init();
            setGammaBeta(g.getLayers());
            acts = g.feedForward(input(dt, 4, seed), true);
            for (Layer l : g.getLayers()) {
                String name = l.conf().getLayer().getLayerName();
                inputs.put(l, acts.get(g.getConfiguration().getVertexInputs().get(name).get(0)));
            }
            net = g;
        }
        for (Layer l : layers(net)) {
            Map<String, INDArray> p = l.paramTable();
            if (!p.containsKey("log10stdev")) continue;
            INDArray x = inputs.get(l).castTo(DataType.DOUBLE);
            int[] axes = x.rank() == 2 ? new int[]{0} : new int[]{0, 2, 3};
            p.get("mean").assign(x.mean(axes));
            p.get("log10stdev").assign(Transforms.log(Transforms.sqrt(x.var(false, axes)), 10));
        }
        return net;
    }

    /** The network in this data type with these parameters (cast), e.g. a float64 copy of a float32 network. */
    Model withParams(DataType dt, INDArray params) {
        return withParams(dt, params, false);
    }

    /** {@link #withParams(DataType, INDArray)}, of the smooth configuration if {@code smooth}. */
    Model withParams(DataType dt, INDArray params, boolean smooth) {
        Object c = conf(dt, smooth);
        Model net = c instanceof MultiLayerConfiguration m ? new MultiLayerNetwork(m)
                : new ComputationGraph((ComputationGraphConfiguration) c);
        if (net instanceof MultiLayerNetwork m) m.init(params.castTo(dt), true);
        else ((ComputationGraph) net).init(params.castTo(dt), true);
        return net;
    }

    private static void setGammaBeta(Layer[] layers) {
        for (Layer l : layers) {
            Map<String, INDArray> p = l.paramTable();
            if (!p.containsKey("log10stdev")) continue;
            long n = p.get("mean").length();
            p.get("gamma").assign(Nd4j.rand(DataType.DOUBLE, n).addi(0.5));
            p.get("beta").assign(Nd4j.rand(DataType.DOUBLE, n).subi(0.5));
        }
    }

    /** A batch of inputs in [−0.5, 0.5). */
    INDArray input(DataType dt, int batch, long seed) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.rand(DataType.DOUBLE, batch, 3, size, size).subi(0.5).castTo(dt);
    }

    static Layer[] layers(Model net) {
        return net instanceof MultiLayerNetwork m ? m.getLayers() : ((ComputationGraph) net).getLayers();
    }
}
