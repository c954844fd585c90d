package org.bn4j.dropin;

import org.bn4j.check.Exact;
import org.bn4j.core.Statistic;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoisyBatchNorm;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What docs/guarantees.md promises, tested through the public API on networks written here as a user would: degenerate
 * and masked groups never corrupt the running statistics or produce NaN, non-finite batches are refused with nothing
 * changed, float16 and bfloat16 compute in float32, threads give the single-thread results exactly.
 */
class GuaranteesTest {
    static final int F = 3, T = 4;

    /** A sequence model: SimpleRnn → norm → RNN output, in the given precision. */
    private static MultiLayerNetwork rnn(Supplier<Layer> norm, DataType dt) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(dt).updater(new Sgd(0.1))
                .weightInit(WeightInit.XAVIER).list()
                .layer(new SimpleRnn.Builder().nOut(F).activation(Activation.TANH).build())
                .layer(norm.get())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.recurrent(F, T, RNNFormat.NCW)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static MultiLayerNetwork dense(Supplier<Layer> norm, DataType dt) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(dt).updater(new Sgd(0.1))
                .weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nOut(8).activation(Activation.IDENTITY).build())
                .layer(norm.get())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(F)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static DataSet sequences(int n, INDArray mask, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.DOUBLE, n, F, T);
        INDArray y = Nd4j.zeros(x.dataType(), n, 2, T);
        for (int i = 0; i < n; i++) for (int t = 0; t < T; t++) y.putScalar(new int[]{i, (i + t) % 2, t}, 1);
        return new DataSet(x, y, mask, mask);
    }

    private static boolean finite(INDArray a) {
        return java.util.Arrays.stream(Exact.values(a)).allMatch(Double::isFinite);
    }

    static List<Supplier<Layer>> batchLayers() {
        return List.of(() -> new BatchNorm.Builder().decay(0).build(), () -> new LpBatchNorm.Builder().topK(1).build(),
                () -> new LpBatchNorm.Builder().p(3).build(), () -> new GhostBatchNorm.Builder().virtualBatchSize(2).build());
    }

    @Test
    void fullyMaskedAndOneValueGroupsLeaveTheRunningStatisticsAlone() {
        for (Supplier<Layer> norm : batchLayers()) {
            MultiLayerNetwork net = rnn(norm, DataType.DOUBLE);
            net.fit(sequences(4, null, 1));
            INDArray mean = net.getLayer(1).getParam("mean").dup(), var = net.getLayer(1).getParam("var").dup();
            String name = norm.get().getClass().getSimpleName();
            // every step masked
            net.fit(sequences(4, Nd4j.zeros(DataType.DOUBLE, 4, T), 2));
            // one valid value per feature: one sample, one step
            INDArray one = Nd4j.zeros(DataType.DOUBLE, 4, T);
            one.putScalar(0, 0, 1);
            net.fit(sequences(4, one, 3));
            Exact.assertSame(mean, net.getLayer(1).getParam("mean"), name + ": running mean after degenerate batches");
            Exact.assertSame(var, net.getLayer(1).getParam("var"), name + ": running variance after degenerate batches");
            assertTrue(finite(net.params()), name + ": every parameter finite");
            assertTrue(finite(net.output(sequences(4, null, 4).getFeatures())), name + ": outputs finite");
        }
    }

    @ParameterizedTest(name = "constant feature, p = {0}")
    @ValueSource(doubles = {1, 1.5, 3, 4, 8})
    void lpAndTopKAreFiniteOnAConstantFeature(double p) {
        for (Supplier<Layer> norm : List.<Supplier<Layer>>of(() -> new LpBatchNorm.Builder().p(p).build(),
                () -> new LpBatchNorm.Builder().topK((int) Math.min(p, 3)).build())) {
            MultiLayerNetwork net = dense(norm, DataType.DOUBLE);
            // the dense layer's first unit sees only zeros: a dead unit, its normalized input constant
            net.getLayer(0).getParam("W").getColumn(0).assign(0);
            net.getLayer(0).getParam("b").putScalar(0, 0.0);
            Nd4j.getRandom().setSeed(5);
            DataSet ds = new DataSet(Nd4j.randn(DataType.DOUBLE, 16, F), Nd4j.eye(2).repeat(0, 8).reshape(16, 2));
            net.setInput(ds.getFeatures());
            net.setLabels(ds.getLabels());
            net.computeGradientAndScore();
            assertTrue(finite(net.gradient().gradient()), "p = " + p + ": gradients on a constant feature");
            net.fit(ds);
            assertTrue(finite(net.params()), "p = " + p + ": parameters after a step");
        }
    }

    @Test
    void nonFiniteBatchesAreRefusedWithNothingChanged() {
        for (Supplier<Layer> norm : List.<Supplier<Layer>>of(() -> new BatchNorm.Builder().build(),
                () -> new LayerNorm.Builder().build(), () -> new LpBatchNorm.Builder().topK(1).build())) {
            MultiLayerNetwork net = dense(norm, DataType.DOUBLE);
            net.fit(new DataSet(Nd4j.randn(DataType.DOUBLE, 8, F), Nd4j.eye(2).repeat(0, 4).reshape(8, 2)));
            INDArray before = net.params().dup();
            for (double bad : new double[]{Double.NaN, Double.POSITIVE_INFINITY}) {
                INDArray x = Nd4j.randn(DataType.DOUBLE, 8, F);
                x.putScalar(3, 1, bad);
                DataSet ds = new DataSet(x, Nd4j.eye(2).repeat(0, 4).reshape(8, 2));
                DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class, () -> net.fit(ds));
                String msg = e.getMessage();
                assertTrue(msg.contains("not finite") && msg.contains("layer1"), msg);
                Exact.assertSame(before, net.params(), "parameters after a refused batch with " + bad);
            }
        }
    }

    /** The refusal names the feature whose statistics are not finite (here the input feature holding the NaN). */
    @Test
    void theRefusalNamesTheFeature() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).list()
                .layer(new BatchNorm.Builder().build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nOut(2).activation(Activation.IDENTITY).build())
                .setInputType(InputType.feedForward(F)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        INDArray before = net.params().dup();
        INDArray x = Nd4j.randn(DataType.DOUBLE, 8, F);
        x.putScalar(5, 2, Double.NaN);
        DL4JInvalidInputException e = assertThrows(DL4JInvalidInputException.class,
                () -> net.fit(new DataSet(x, Nd4j.zeros(DataType.DOUBLE, 8, 2))));
        assertTrue(e.getMessage().contains("for feature 2 of input shape [8, " + F + "]"), e.getMessage());
        Exact.assertSame(before, net.params(), "parameters after the refused batch");
    }

    /**
     * float16 networks, and bfloat16 input to a layer of a float32 network (DL4J has no bfloat16 networks): statistics
     * in float32, outputs in the input's type, close to float64.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HALF", "BFLOAT16"})
    void lowPrecisionComputesInFloat32(String type) {
        DataType dt = DataType.valueOf(type);
        DataType net = dt == DataType.BFLOAT16 ? DataType.FLOAT : dt;
        double tol = dt == DataType.HALF ? 4e-3 : 3e-2;
        for (Supplier<Layer> norm : List.<Supplier<Layer>>of(() -> new BatchNorm.Builder().build(),
                () -> new LpBatchNorm.Builder().topK(1).build(), () -> new LayerNorm.Builder().build())) {
            MultiLayerNetwork low = dense(norm, net), ref = dense(norm, DataType.DOUBLE);
            ref.setParams(low.params().castTo(DataType.DOUBLE));
            Nd4j.getRandom().setSeed(9);
            INDArray x = Nd4j.randn(DataType.DOUBLE, 4096, F).muli(3).addi(2).castTo(dt);
            org.deeplearning4j.nn.api.Layer l = low.getLayer(1), r = ref.getLayer(1);
            INDArray h = low.getLayer(0).activate(x.castTo(net), false, org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces())
                    .castTo(dt);
            INDArray yl = l.activate(h, true, org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces());
            INDArray yr = r.activate(h.castTo(DataType.DOUBLE), true, org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces());
            assertEquals(dt, yl.dataType(), "output type");
            String what = type + " " + norm.get().getClass().getSimpleName();
            Exact.assertClose(Exact.values(yr), Exact.values(yl), tol, what + " training output at [4096, 8]");
            low.fit(new DataSet(x.castTo(net), Nd4j.eye(2).repeat(0, 2048).reshape(4096, 2).castTo(net)));
            assertTrue(finite(low.params()), what + ": parameters after a step");
        }
    }

    /** One network's {@code output} from 8 threads at once, on 8 batch sizes (so graphs are built concurrently too). */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"BatchNorm", "WeightNormDense"})
    void outputFromEightThreadsIsTheSingleThreadResult(String layer) throws Exception {
        MultiLayerNetwork net = dense(layer.equals("BatchNorm") ? () -> new BatchNorm.Builder().build()
                : () -> new WeightNormDense.Builder().nOut(8).build(), DataType.FLOAT);
        for (int i = 0; i < 3; i++) net.fit(new DataSet(Nd4j.randn(DataType.FLOAT, 16, F), Nd4j.eye(2).repeat(0, 8).reshape(16, 2).castTo(DataType.FLOAT)));
        List<INDArray> xs = new ArrayList<>();
        for (int i = 0; i < 8; i++) xs.add(Nd4j.randn(DataType.FLOAT, 5 + i, F));
        MultiLayerNetwork fresh = net.clone();
        List<INDArray> expected = new ArrayList<>();
        for (INDArray x : xs) expected.add(net.output(x));
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<INDArray>> got = new ArrayList<>();
            for (int rep = 0; rep < 4; rep++) for (INDArray x : xs) got.add(pool.submit(() -> fresh.output(x)));
            for (int i = 0; i < got.size(); i++) Exact.assertSame(expected.get(i % 8), got.get(i).get(), layer + ": output " + i);
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void clonesTrainingAtOnceGiveTheSequentialResults() throws Exception {
        List<Supplier<Layer>> layers = List.of(() -> new BatchNorm.Builder().build(),
                () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(4)).build(),
                () -> new GhostBatchNorm.Builder().virtualBatchSize(4).statistic(Statistic.lp(1)).build(),
                () -> new WeightNormDense.Builder().nOut(8).build());
        for (Supplier<Layer> norm : layers) {
            MultiLayerNetwork base = dense(norm, DataType.DOUBLE);
            List<DataSet> data = new ArrayList<>();
            for (int i = 0; i < 5; i++) data.add(new DataSet(Nd4j.randn(DataType.DOUBLE, 12, F), Nd4j.eye(2).repeat(0, 6).reshape(12, 2)));
            MultiLayerNetwork seq = base.clone();
            for (DataSet d : data) seq.fit(d);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                List<Future<INDArray>> got = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    MultiLayerNetwork clone = base.clone();
                    got.add(pool.submit(() -> {
                        for (DataSet d : data) clone.fit(d);
                        return clone.params();
                    }));
                }
                for (Future<INDArray> f : got) Exact.assertSame(seq.params(), f.get(), norm.get().getClass().getSimpleName() + ": a clone trained in a thread");
            } finally {
                pool.shutdown();
            }
        }
    }

    /**
     * Sequences of many lengths: each length gets its graphs, a bounded number are kept (32), and one evicted and built
     * again computes exactly what it computed before.
     */
    @Test
    void manySequenceLengthsInRotation() {
        MultiLayerNetwork net = rnnOf(() -> new BatchNorm.Builder().build());
        List<INDArray> first = new ArrayList<>();
        for (int round = 0; round < 2; round++) {
            for (int t = 1; t <= 40; t++) {
                Nd4j.getRandom().setSeed(t);
                INDArray x = Nd4j.randn(DataType.DOUBLE, 4, F, t);
                INDArray y = net.output(x, true);
                if (round == 0) first.add(y);
                else Exact.assertSame(first.get(t - 1), y, "length " + t + " after its graphs were evicted and rebuilt");
            }
        }
    }

    private static MultiLayerNetwork rnnOf(Supplier<Layer> norm) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).list()
                .layer(norm.get()).setInputType(InputType.recurrent(F, RNNFormat.NCW)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }
}
