package org.bn4j.conversion;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.check.Size;
import org.bn4j.convert.RunningStatistics;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.Registry;
import org.bn4j.reference.Ref;
import org.bn4j.reference.RefModel;
import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ActivationLayer;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.adapter.MultiDataSetIteratorAdapter;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.bn4j.check.Exact.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RunningStatistics#recompute}: the running statistics become the equal-weight average of the batch statistics of
 * a training-mode pass, computed here from the reference's batch statistics (a plain Java computation, independent of
 * ND4J); trainable parameters and the other state stay bit for bit; reset running statistics come back to what training
 * with the cumulative average gives; MultiLayerNetwork and ComputationGraph; bad input.
 */
class RecomputeRunningStatisticsTest {
    /** float64 throughout: the recomputed statistics equal the plain computation to this (relative, max |e − a|/max |e|). */
    private static final double TOL = 1e-12;
    private static final List<InputKind> KINDS = List.of(InputKind.FF, InputKind.CNN_NHWC, InputKind.RNN_NCW);
    /** The pass: three batches of different sizes (odd sizes give ghost remainders). */
    private static final long[] SIZES = {9, 6, 7};
    /** Feed-forward input of 3 features (the batch size is given per data set). */
    private static final Size FF3 = new Size(1, 3, 1);
    private static double largest;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @AfterAll
    static void report() {
        System.out.println("RecomputeRunningStatisticsTest: largest relative difference to the expected statistics "
                + largest);
    }

    private static void assertClose(double[] expected, double[] actual, String what) {
        double rel = Exact.relativeError(expected, actual);
        synchronized (RecomputeRunningStatisticsTest.class) {
            largest = Math.max(largest, rel);
        }
        Exact.assertClose(expected, actual, TOL, what);
    }

    /** The registry's layers with running statistics that move (frozen statistics are skipped by design). */
    private static Stream<Registry.Case> running(List<Registry.Case> cases) {
        return cases.stream().filter(c -> c.layer().get().hasRunningStats() && !c.layer().get().isFrozenStatistics());
    }

    private static List<DataSet> batches(InputKind k, long seed) {
        List<DataSet> out = new ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) out.add(CheckNets.dataSet(k, Registry.SMALL, k.isRnn(), SIZES[i], seed + i));
        return out;
    }

    private static String label(Registry.Case c, InputKind k) {
        return c.name() + " / " + k + (k.isRnn() ? "+mask" : "");
    }

    private static Stream<DynamicTest> perKind(Stream<Registry.Case> cases, java.util.function.BiConsumer<Registry.Case, InputKind> test) {
        return cases.flatMap(c -> KINDS.stream().filter(c.kinds()::contains)
                .map(k -> DynamicTest.dynamicTest(label(c, k), () -> test.accept(c, k))));
    }

    // ------------------------------------------------------------------ (a) the plain average

    /**
     * The layer first in the network, so its input in the pass is the data: its running statistics after recompute
     * equal the plain average, over the pass, of the batch statistics as the layer's rule enters them.
     */
    @TestFactory
    Stream<DynamicTest> equalsThePlainAverageOfTheBatchStatistics() {
        return perKind(running(Registry.layers()), RecomputeRunningStatisticsTest::plainAverage);
    }

    private static void plainAverage(Registry.Case c, InputKind k) {
        AbstractNormLayer conf = c.layer().get();
        MultiLayerNetwork net = CheckNets.mln(c.layer(), k, Registry.SMALL, new Sgd(0.1), false, 21);
        Layer layer = net.getLayer(0);
        RefModel model = new RefModel(conf, c.axes(), c.groups());
        List<DataSet> data = batches(k, 400);
        int channels = (int) Registry.SMALL.channels();
        double[] sumMean = new double[channels], sumVar = new double[channels];
        int[] n = new int[channels];
        long statistics = 0;
        for (DataSet ds : data) {
            Map<String, double[]> params = new LinkedHashMap<>();
            layer.paramTable().forEach((key, v) -> params.put(key, values(v)));
            for (Ref.Fwd f : model.batchStatistics(new Reference.Input(k, values(ds.getFeatures()), ds.getFeatures().shape(),
                    ds.getFeaturesMaskArray() == null ? null : values(ds.getFeaturesMaskArray()), params, true, null, layer))) {
                if (entry(conf, model.minCount(), channels, f, sumMean, sumVar, n)) statistics++;
            }
        }
        // corrupt the running statistics first: the result must not depend on them
        if (conf.isCenter()) layer.getParam("mean").assign(3);
        layer.getParam("var").assign(5);
        RunningStatistics.Result r = RunningStatistics.recompute(net, new ExistingDataSetIterator(data));
        String what = label(c, k);
        if (conf.isCenter()) assertClose(divide(sumMean, n), values(layer.getParam("mean")), what + ": running mean");
        assertClose(divide(sumVar, n), values(layer.getParam("var")), what + ": running variance");
        assertEquals(List.of(new RunningStatistics.Result.Recomputed(CheckNets.NAME, statistics)), r.recomputed(), what);
        assertEquals(SIZES.length, r.batches(), what + ": batches");
        assertEquals(9 + 6 + 7, r.examples(), what + ": examples");
        if (conf.countsSteps() && conf.isCumulative()) {
            assertEquals(statistics, layer.getParam("steps").getDouble(0), what + ": steps");
        }
    }

    /**
     * Adds one statistic (a batch, or a ghost batch) to the sums: per feature, the mean and the variance equivalent of
     * its groups with enough values (Bessel's factor m/(m − 1) for centred statistics), instance norm's samples
     * averaged into one value. Returns false if no group of the statistic had enough values.
     */
    private static boolean entry(AbstractNormLayer conf, int minCount, int channels, Ref.Fwd f, double[] sumMean,
                                 double[] sumVar, int[] n) {
        double[] m = new double[channels], v = new double[channels];
        int[] groups = new int[channels];
        for (int q = 0; q < f.v().length; q++) {
            int j = q % channels;
            double count = f.count()[q];
            if (count < minCount) continue;
            if (conf.isCenter()) m[j] += f.mean()[q];
            v[j] += conf.isCenter() ? f.v()[q] * count / (count - 1) : f.v()[q];
            groups[j]++;
        }
        boolean any = false;
        for (int j = 0; j < channels; j++) {
            if (groups[j] == 0) continue;
            if (!conf.averagesGroups()) assertEquals(1, groups[j], "one group per feature and statistic");
            sumMean[j] += m[j] / groups[j];
            sumVar[j] += v[j] / groups[j];
            n[j]++;
            any = true;
        }
        return any;
    }

    private static double[] divide(double[] sum, int[] n) {
        double[] out = new double[sum.length];
        for (int j = 0; j < sum.length; j++) out[j] = sum[j] / n[j];
        return out;
    }

    /**
     * A layer after another normalization layer sees the training-mode input: BatchNorm → dense (tanh) → BatchNorm, the second
     * layer's statistics computed here in plain Java from the first layer's training output (batch statistics, biased
     * variance, ε). The inference-mode input would give other statistics (checked, so the test tells them apart).
     */
    @Test
    void laterLayersSeeTheTrainingForward() {
        MultiLayerNetwork net = twoNorms();
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) data.add(CheckNets.dataSet(InputKind.FF, FF3, false, SIZES[i], 500 + i));
        net.fit(new ExistingDataSetIterator(data)); // γ, β, W away from their initial values; running statistics moved
        double[] g1 = values(net.getLayer(0).getParam("gamma")), b1 = values(net.getLayer(0).getParam("beta"));
        double[] rm1 = values(net.getLayer(0).getParam("mean")), rv1 = values(net.getLayer(0).getParam("var"));
        double eps = ((BatchNorm) net.getLayer(0).conf().getLayer()).getEps();
        INDArray w = net.getLayer(1).getParam("W"), b = net.getLayer(1).getParam("b");
        double[][] sum1 = new double[2][3], sum2 = new double[2][4], inference = new double[2][4];
        for (DataSet ds : data) {
            double[][] x = ds.getFeatures().toDoubleMatrix();
            double[][] s1 = stats(x);
            add(sum1, s1);
            double[][] train = new double[x.length][3], infer = new double[x.length][3];
            for (int i = 0; i < x.length; i++) {
                for (int j = 0; j < 3; j++) {
                    double biased = s1[1][j] * (x.length - 1) / x.length;
                    train[i][j] = g1[j] * (x[i][j] - s1[0][j]) / Math.sqrt(biased + eps) + b1[j];
                    infer[i][j] = g1[j] * (x[i][j] - rm1[j]) / Math.sqrt(rv1[j] + eps) + b1[j];
                }
            }
            add(sum2, stats(dense(train, w, b)));
            add(inference, stats(dense(infer, w, b)));
        }
        for (double[][] s : List.of(sum1, sum2, inference)) for (double[] row : s) for (int j = 0; j < row.length; j++) row[j] /= SIZES.length;
        net.getLayer(0).getParam("var").assign(1);
        net.getLayer(2).getParam("mean").assign(0);
        RunningStatistics.recompute(net, new ExistingDataSetIterator(data));
        assertClose(sum1[0], values(net.getLayer(0).getParam("mean")), "bn1 mean");
        assertClose(sum1[1], values(net.getLayer(0).getParam("var")), "bn1 var");
        assertClose(sum2[0], values(net.getLayer(2).getParam("mean")), "bn2 mean");
        assertClose(sum2[1], values(net.getLayer(2).getParam("var")), "bn2 var");
        assertTrue(Exact.relativeError(inference[1], sum2[1]) > 1e-3,
                "the inference-mode input gives other statistics: " + Exact.relativeError(inference[1], sum2[1]));
    }

    private static MultiLayerNetwork twoNorms() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(7)
                .updater(new Adam(0.05)).weightInit(WeightInit.XAVIER).list()
                .layer(new BatchNorm.Builder().name("bn1").build())
                .layer(new DenseLayer.Builder().name("dense").nOut(4).activation(Activation.TANH).build())
                .layer(new BatchNorm.Builder().name("bn2").build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CheckNets.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(3)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    /** Per column: mean and unbiased variance. */
    private static double[][] stats(double[][] x) {
        int n = x.length, c = x[0].length;
        double[][] out = new double[2][c];
        for (int j = 0; j < c; j++) {
            double s = 0;
            for (double[] row : x) s += row[j];
            double mean = s / n, q = 0;
            for (double[] row : x) q += (row[j] - mean) * (row[j] - mean);
            out[0][j] = mean;
            out[1][j] = q / (n - 1);
        }
        return out;
    }

    /** tanh(x W + b). */
    private static double[][] dense(double[][] x, INDArray w, INDArray b) {
        double[][] wm = w.toDoubleMatrix();
        double[] bv = values(b);
        double[][] z = new double[x.length][bv.length];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < bv.length; o++) {
                double s = bv[o];
                for (int j = 0; j < x[i].length; j++) s += x[i][j] * wm[j][o];
                z[i][o] = Math.tanh(s);
            }
        }
        return z;
    }

    private static void add(double[][] sum, double[][] s) {
        for (int a = 0; a < sum.length; a++) for (int j = 0; j < sum[a].length; j++) sum[a][j] += s[a][j];
    }

    // ------------------------------------------------------------------ (b) nothing else changes

    /**
     * After Adam steps (non-zero updater state), recompute changes the running statistics (and a cumulative layer's
     * step count) and nothing else: every other parameter, the updater state and the iteration and epoch counts are
     * bit-identical.
     */
    @TestFactory
    Stream<DynamicTest> trainableParametersAndStateAreUnchanged() {
        return running(Registry.layers()).map(c -> {
            InputKind k = c.kinds().contains(InputKind.FF) ? InputKind.FF : InputKind.CNN_NHWC;
            return DynamicTest.dynamicTest(label(c, k), () -> unchanged(c, k));
        });
    }

    private static void unchanged(Registry.Case c, InputKind k) {
        MultiLayerNetwork net = CheckNets.mln(c.layer(), k, Registry.SMALL, new Adam(0.01), true, 21);
        for (DataSet ds : batches(k, 600)) net.fit(ds);
        Map<String, INDArray> before = snapshot(net);
        INDArray updater = net.getUpdater().getStateViewArray().dup();
        int iteration = net.getIterationCount(), epoch = net.getEpochCount();
        RunningStatistics.recompute(net, new ExistingDataSetIterator(batches(k, 700)));
        String what = label(c, k);
        Map<String, INDArray> after = snapshot(net);
        for (Map.Entry<String, INDArray> e : before.entrySet()) {
            String key = e.getKey();
            if (key.equals("1_mean") || key.equals("1_var")) {
                assertTrue(!Exact.same(e.getValue(), after.get(key)), what + ": " + key + " was not recomputed");
            } else if (!key.equals("1_steps") || !c.layer().get().isCumulative()) {
                Exact.assertSame(e.getValue(), after.get(key), what + ": " + key);
            }
        }
        Exact.assertSame(updater, net.getUpdater().getStateViewArray(), what + ": updater state");
        assertEquals(iteration, net.getIterationCount(), what + ": iteration count");
        assertEquals(epoch, net.getEpochCount(), what + ": epoch count");
    }

    private static Map<String, INDArray> snapshot(MultiLayerNetwork net) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        net.paramTable().forEach((key, v) -> out.put(key, v.dup()));
        return out;
    }

    // ------------------------------------------------------------------ (c) back to what cumulative training gives

    /**
     * Training a layer with {@code cumulativeAverage(true)} at learning rate 0 on the pass's batches gives the cumulative
     * average of their statistics. After resetting the running statistics to mean 0, var 1, steps 0, recompute restores
     * them; the same layer with its default exponential average, given the same parameters, gets the same statistics.
     */
    @TestFactory
    Stream<DynamicTest> restoresWhatCumulativeTrainingGives() {
        return perKind(running(Registry.product()).filter(c -> c.name().endsWith(" + cumulative average")),
                RecomputeRunningStatisticsTest::restores);
    }

    private static void restores(Registry.Case c, InputKind k) {
        String what = label(c, k);
        List<DataSet> data = batches(k, 800);
        MultiLayerNetwork trained = CheckNets.mln(c.layer(), k, Registry.SMALL, new Sgd(0.0), true, 21);
        for (DataSet ds : data) trained.fit(ds);
        Layer layer = trained.getLayer(1);
        Map<String, INDArray> expected = new LinkedHashMap<>();
        layer.paramTable().forEach((key, v) -> expected.put(key, v.dup()));
        assertNotEquals(1.0, layer.getParam("var").getDouble(0), what + ": training moved the statistics");
        // reset, and recompute
        if (layer.getParam("mean") != null) layer.getParam("mean").assign(0);
        layer.getParam("var").assign(1);
        layer.getParam("steps").assign(0);
        RunningStatistics.recompute(trained, new ExistingDataSetIterator(data));
        compare(expected, layer, what);
        // the layer with its own (exponential) rule, same parameters
        String base = c.name().substring(0, c.name().length() - " + cumulative average".length());
        Registry.Case exponential = Registry.layers().stream().filter(b -> b.name().equals(base)).findFirst().orElseThrow();
        MultiLayerNetwork other = CheckNets.mln(exponential.layer(), k, Registry.SMALL, new Sgd(0.0), true, 99);
        copyTrainable(trained, other);
        RunningStatistics.recompute(other, new ExistingDataSetIterator(data));
        compare(expected, other.getLayer(1), what + " (exponential layer)");
    }

    private static void compare(Map<String, INDArray> expected, Layer layer, String what) {
        if (expected.containsKey("mean")) assertClose(values(expected.get("mean")), values(layer.getParam("mean")), what + ": mean");
        assertClose(values(expected.get("var")), values(layer.getParam("var")), what + ": var");
        if (layer.getParam("steps") != null && ((AbstractNormLayer) layer.conf().getLayer()).isCumulative()) {
            assertEquals(expected.get("steps").getDouble(0), layer.getParam("steps").getDouble(0), what + ": steps");
        }
    }

    /** Copies every parameter that is not running state from one network to another of the same layers. */
    private static void copyTrainable(MultiLayerNetwork from, MultiLayerNetwork to) {
        for (int i = 0; i < from.getnLayers(); i++) {
            for (Map.Entry<String, INDArray> e : to.getLayer(i).paramTable().entrySet()) {
                if (org.bn4j.runtime.NormParamInitializer.isState(e.getKey())) continue;
                e.getValue().assign(from.getLayer(i).getParam(e.getKey()));
            }
        }
    }

    // ------------------------------------------------------------------ (d) ComputationGraph

    /** As (c) for a ComputationGraph, with a DataSetIterator and a MultiDataSetIterator. */
    @TestFactory
    Stream<DynamicTest> computationGraph() {
        return Stream.of("BatchNorm", "GhostBatchNorm(v=4)", "InstanceNorm(running)", "BatchRenorm")
                .flatMap(name -> Registry.product().stream().filter(c -> c.name().equals(name + " + cumulative average")))
                .flatMap(c -> Stream.of(InputKind.CNN_NHWC, InputKind.RNN_NCW).filter(c.kinds()::contains)
                        .map(k -> DynamicTest.dynamicTest(label(c, k), () -> graph(c, k))));
    }

    private static void graph(Registry.Case c, InputKind k) {
        String what = label(c, k);
        List<DataSet> data = batches(k, 900);
        ComputationGraph net = CheckNets.graph(c.layer(), k, Registry.SMALL, new Sgd(0.0), 21);
        for (DataSet ds : data) net.fit(ds);
        Layer layer = net.getLayer(CheckNets.NAME);
        Map<String, INDArray> expected = new LinkedHashMap<>();
        layer.paramTable().forEach((key, v) -> expected.put(key, v.dup()));
        INDArray params = net.params().dup();
        for (boolean multi : new boolean[]{false, true}) {
            if (layer.getParam("mean") != null) layer.getParam("mean").assign(0);
            layer.getParam("var").assign(1);
            layer.getParam("steps").assign(0);
            DataSetIterator it = new ExistingDataSetIterator(data);
            RunningStatistics.Result r = multi ? RunningStatistics.recompute(net, new MultiDataSetIteratorAdapter(it))
                    : RunningStatistics.recompute(net, it);
            compare(expected, layer, what + (multi ? " (MultiDataSetIterator)" : " (DataSetIterator)"));
            assertEquals(22, r.examples(), what);
            Exact.assertSame(params, net.params(), what + ": all parameters");
        }
    }

    // ------------------------------------------------------------------ (e) bad input, what is skipped

    @Test
    void emptyIteratorIsRefusedAndChangesNothing() {
        MultiLayerNetwork net = twoNorms();
        INDArray before = net.params().dup();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RunningStatistics.recompute(net, new ExistingDataSetIterator(List.of())));
        assertEquals("RunningStatistics.recompute: expected at least one batch, the iterator gave none; the network is"
                + " unchanged", e.getMessage());
        Exact.assertSame(before, net.params(), "parameters");
    }

    @Test
    void networkWithoutRunningStatisticsIsRefused() {
        MultiLayerNetwork none = CheckNets.mln(() -> new LayerNorm.Builder().build(), InputKind.FF, Registry.SMALL,
                new Sgd(0.1), true, 1);
        INDArray before = none.params().dup();
        List<DataSet> data = batches(InputKind.FF, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RunningStatistics.recompute(none, new ExistingDataSetIterator(data)));
        assertEquals("RunningStatistics.recompute: expected a network with a bn4j layer that keeps running statistics"
                + " (BatchNorm, LpBatchNorm, GhostBatchNorm, NoisyBatchNorm, BatchRenorm, InstanceNorm with"
                + " runningStats(true)) and no frozenStatistics(true), got none; the network is unchanged", e.getMessage());
        Exact.assertSame(before, none.params(), "parameters");

        MultiLayerNetwork dl4j = CheckNets.mln(() -> new BatchNormalization.Builder().build(), InputKind.FF,
                Registry.SMALL, new Sgd(0.1), true, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> RunningStatistics.recompute(dl4j, new ExistingDataSetIterator(data)));
        assertTrue(e.getMessage().endsWith("got only [tested (DL4J's BatchNormalization is not recomputed (its running"
                + " statistics move only in its backward pass))]; the network is unchanged"), e.getMessage());

        MultiLayerNetwork frozen = CheckNets.mln(() -> new BatchNorm.Builder().frozenStatistics(true).build(),
                InputKind.FF, Registry.SMALL, new Sgd(0.1), true, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> RunningStatistics.recompute(frozen, new ExistingDataSetIterator(data)));
        assertTrue(e.getMessage().contains("got only [tested (frozenStatistics(true)"), e.getMessage());
    }

    /** A batch the layer refuses (NaN) in the middle of the pass: the error comes through, nothing is written. */
    @Test
    void failedPassChangesNothingAndResetsTheIterator() {
        MultiLayerNetwork net = twoNorms();
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < 3; i++) data.add(CheckNets.dataSet(InputKind.FF, FF3, false, 5, 40 + i));
        data.get(1).getFeatures().putScalar(2, 1, Double.NaN);
        INDArray before = net.params().dup();
        DataSetIterator it = new ExistingDataSetIterator(data);
        Exception e = assertThrows(Exception.class, () -> RunningStatistics.recompute(net, it));
        assertTrue(e.getMessage().contains("BatchNorm 'bn1'") && e.getMessage().contains("not finite"), e.getMessage());
        Exact.assertSame(before, net.params(), "parameters");
        assertTrue(it.hasNext(), "iterator reset");
        Exact.assertSame(data.get(0).getFeatures(), it.next().getFeatures(), "first batch after the reset");
    }

    /**
     * DL4J's BatchNormalization, a frozen-statistics layer and a layer inside DL4J's FrozenLayer (which runs it in
     * inference mode) are reported and untouched; the iterator is reset.
     */
    @Test
    void skippedLayersAreReportedAndUntouched() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).seed(3)
                .updater(new Adam(0.05)).weightInit(WeightInit.XAVIER).list()
                .layer(new BatchNormalization.Builder().name("dl4j").build())
                .layer(new BatchNorm.Builder().name("frozen").frozenStatistics(true).build())
                .layer(new DenseLayer.Builder().name("dense").nOut(4).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().name("bn").build())
                .layer(new FrozenLayer(new BatchNorm.Builder().name("wrapped").build()))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(CheckNets.CLASSES)
                        .activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(3)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        List<DataSet> data = new ArrayList<>();
        for (int i = 0; i < 2; i++) data.add(CheckNets.dataSet(InputKind.FF, FF3, false, 8, 60 + i));
        net.fit(new ExistingDataSetIterator(data));
        INDArray dl4j = net.getLayer(0).params().dup(), frozen = net.getLayer(1).params().dup();
        INDArray wrapped = net.getLayer(4).params().dup();
        DataSetIterator it = new ExistingDataSetIterator(data);
        RunningStatistics.Result r = RunningStatistics.recompute(net, it);
        assertEquals(List.of(new RunningStatistics.Result.Recomputed("bn", 2)), r.recomputed());
        assertEquals(List.of("dl4j", "frozen", "layer4"),   // DL4J names the wrapped layer as its wrapper
                r.skipped().stream().map(RunningStatistics.Result.Skipped::layer).toList());
        assertTrue(r.skipped().get(2).reason().startsWith("no batch statistics reached it"), r.toString());
        assertEquals(16, r.examples());
        Exact.assertSame(dl4j, net.getLayer(0).params(), "DL4J's BatchNormalization");
        Exact.assertSame(frozen, net.getLayer(1).params(), "frozen statistics");
        Exact.assertSame(wrapped, net.getLayer(4).params(), "inside DL4J's FrozenLayer");
        assertTrue(it.hasNext(), "iterator reset");
        System.out.println(r);
    }

    // ------------------------------------------------------------------ the snippet of docs/migrating.md

    /** The snippet of docs/migrating.md, "Recomputing running statistics", as a user would run it. */
    @Test
    void averagedWeightsThenRecompute() {
        List<DataSet> batches = new ArrayList<>();
        for (int i = 0; i < SIZES.length; i++) batches.add(CheckNets.dataSet(InputKind.FF, FF3, false, SIZES[i], 70 + i));
        // snippet recompute
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().updater(new Adam(0.05)).list()
                .layer(new DenseLayer.Builder().nOut(16).activation(Activation.IDENTITY).build())
                .layer(new BatchNorm.Builder().name("bn").build())
                .layer(new ActivationLayer(Activation.RELU))
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(3)).build());
        net.init();
        DataSetIterator train = new ExistingDataSetIterator(batches);   // the training data, as for fit

        net.fit(train);
        INDArray early = net.params().dup();                 // the weights at one point of training
        net.fit(train);                                      // ... more training
        net.setParams(net.params().add(early).divi(2));      // their average (SWA): the running statistics no longer fit

        RunningStatistics.Result r = RunningStatistics.recompute(net, train);   // one pass over the data, training mode
        System.out.println(r);
        // end snippet
        assertEquals(List.of(new RunningStatistics.Result.Recomputed("bn", 3)), r.recomputed());
        assertEquals(List.of(), r.skipped());
        assertEquals(22, r.examples());
        assertEquals("recomputed 1 layer from 3 batches (22 examples), skipped 0\n  recomputed bn from 3 statistics",
                r.toString());
    }

    /** The page's block under the marker "RecomputeRunningStatisticsTest snippet NAME" is this class's snippet NAME. */
    @Test
    void docsShowTheSnippet() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "migrating.md"));
        String source = Files.readString(Path.of("src", "test", "java", "org", "bn4j",
                "conversion", "RecomputeRunningStatisticsTest.java"));
        Map<String, String> inDoc = blocks(doc, Pattern.compile(
                "<!-- RecomputeRunningStatisticsTest snippet (\\w+) -->\\s*```java\\n(.*?)```", Pattern.DOTALL));
        Map<String, String> inTest = blocks(source, Pattern.compile(
                "// snippet (\\w+)\\n(.*?)\\s*// end snippet", Pattern.DOTALL));
        assertEquals(inTest.keySet(), inDoc.keySet(), "snippets in the page and in the test");
        inDoc.forEach((name, code) -> assertEquals(inTest.get(name), code, "snippet " + name));
    }

    private static Map<String, String> blocks(String text, Pattern p) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            List<String> lines = new ArrayList<>(m.group(2).stripTrailing().lines().toList());
            int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
                    .min().orElse(0);
            lines.replaceAll(l -> l.isBlank() ? "" : l.substring(indent));
            out.put(m.group(1), String.join("\n", lines));
        }
        return out;
    }
}
