package org.bn4j.bench;

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
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Training throughput of one example network: an MLP 784 → 1024 → 1024 → 10 on random float32 data,
 * minibatch {@value #BATCH}, Adam, softmax cross-entropy, each hidden block
 * {@code Dense(identity) → norm → ReLU} (without a norm layer: {@code Dense(identity) → ReLU}). One
 * benchmark call is one {@code net.fit(minibatch)} (DL4J's default training workspaces);
 * examples/s = {@value #BATCH} / median time.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class TrainBench {

    public static final int BATCH = 256;
    public static final int IN = 784;
    public static final int HIDDEN = 1024;
    public static final int CLASSES = 10;

    /** Name of the normalization layer, see {@link Cases#nets()}. */
    @Param({"none", "dl4j"})
    public String net;

    private MultiLayerNetwork model;
    private DataSet data;

    public static MultiLayerNetwork build(Supplier<Layer> norm) {
        NeuralNetConfiguration.ListBuilder b = new NeuralNetConfiguration.Builder()
                .seed(12345)
                .dataType(DataType.FLOAT)
                .updater(new Adam(1e-3))
                .weightInit(WeightInit.RELU)
                .list();
        for (int i = 0; i < 2; i++) {
            b.layer(new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.IDENTITY).build());
            if (norm != null) {
                b.layer(norm.get());
            }
            b.layer(new ActivationLayer.Builder().activation(Activation.RELU).build());
        }
        b.layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nOut(CLASSES).activation(Activation.SOFTMAX).build());
        MultiLayerConfiguration conf = b.setInputType(InputType.feedForward(IN)).build();
        MultiLayerNetwork m = new MultiLayerNetwork(conf);
        m.init();
        return m;
    }

    @Setup(Level.Trial)
    public void setup() {
        if (!Cases.nets().containsKey(net)) {
            throw new IllegalArgumentException("unknown net " + net + "; known: " + Cases.nets().keySet());
        }
        model = build(Cases.nets().get(net));
        Nd4j.getRandom().setSeed(42);
        INDArray x = Nd4j.rand(DataType.FLOAT, BATCH, IN);
        INDArray y = Nd4j.zeros(DataType.FLOAT, BATCH, CLASSES);
        for (int i = 0; i < BATCH; i++) {
            y.putScalar(i, i % CLASSES, 1f);
        }
        data = new DataSet(x, y);
    }

    @Benchmark
    public Object fit() {
        model.fit(data);
        return model;
    }
}
