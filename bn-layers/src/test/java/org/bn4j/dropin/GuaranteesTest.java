package org.bn4j.dropin;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.check.Size;
import org.bn4j.core.Statistic;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.weightnorm.WeightNormDense;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.LayerNorm;
import org.bn4j.layers.LpBatchNorm;
import org.bn4j.layers.NoiseConfig;
import org.bn4j.layers.NoisyBatchNorm;
import org.bn4j.reference.Ref;
import org.bn4j.reference.RefModel;
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
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    /**
     * ℓp (p ∈ {1, 1.5, 3, 4, 8}) and top-k (k = min(p, 3), so top-1 and top-3) on a batch whose feature 0 is exactly
     * constant (a dead unit, a zero-initialized channel). There u = 0 and v = 0, so d = sqrt(ε), x̂ = 0 and y = β
     * exactly. v changes only to second order when one value moves (v ∝ |δ|² for every statistic), so the input
     * gradient is batch norm's with d = sqrt(ε) and no term through v: dx_i = γ/sqrt(ε) · (dy_i − mean(dy)), not 0;
     * dγ = Σ dy·x̂ = 0 and dβ = Σ dy. The optimizer step moves the running mean toward the constant and the running
     * variance toward 0 (its unbiased batch value is 0). Every feature is also compared with the plain reference
     * ({@link RefModel}), within 1e-12 relative (float64). Then a network whose dense layer has a dead unit trains one
     * step: gradients and parameters finite, the running statistics of the dead feature by the same rule.
     */
    @ParameterizedTest(name = "constant feature, p = {0}")
    @ValueSource(doubles = {1, 1.5, 3, 4, 8})
    void lpAndTopKAreCorrectOnAConstantFeature(double p) {
        int k = (int) Math.min(p, 3);
        for (Supplier<AbstractNormLayer> norm : List.<Supplier<AbstractNormLayer>>of(() -> new LpBatchNorm.Builder().p(p).build(),
                () -> new LpBatchNorm.Builder().topK(k).build())) {
            String name = norm.get().getStatistic().toString();
            constantFeatureAgainstReferenceAndClosedForm(norm, name);
            constantFeatureInANetwork(norm, name);
        }
    }

    private static void constantFeatureAgainstReferenceAndClosedForm(Supplier<AbstractNormLayer> norm, String name) {
        final int n = 16;
        final double constant = 0.75;   // a dyadic value: its sum over the batch and the mean are exact
        MultiLayerNetwork net = CheckNets.alone(norm, InputKind.FF, new Size(1, F, 1), DataType.DOUBLE);
        org.deeplearning4j.nn.api.Layer l = net.getLayer(0);
        AbstractNormLayer conf = (AbstractNormLayer) l.conf().getLayer();
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        Nd4j.getRandom().setSeed(7);
        l.getParam("gamma").assign(Nd4j.rand(DataType.DOUBLE, 1, F).addi(0.5).reshape(l.getParam("gamma").shape()));
        l.getParam("beta").assign(Nd4j.rand(DataType.DOUBLE, 1, F).subi(0.5).reshape(l.getParam("beta").shape()));
        l.getParam("mean").assign(Nd4j.rand(DataType.DOUBLE, 1, F).subi(0.5).reshape(l.getParam("mean").shape()));
        l.getParam("var").assign(Nd4j.rand(DataType.DOUBLE, 1, F).addi(0.5).reshape(l.getParam("var").shape()));
        INDArray x = Nd4j.randn(DataType.DOUBLE, n, F);
        x.getColumn(0).assign(constant);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, n, F);
        Map<String, double[]> params = new LinkedHashMap<>();
        l.paramTable().forEach((key, v) -> params.put(key, Exact.values(v)));
        RefModel model = new RefModel(conf, RefModel.Axes.BATCH, 0);
        Reference.Input in = new Reference.Input(InputKind.FF, Exact.values(x), x.shape(), null, params, true,
                Exact.values(dy), l);
        Reference.Expected e = model.compute(in);

        l.setInput(x, ws);
        INDArray y = l.activate(true, ws).dup();
        Pair<Gradient, INDArray> g = l.backpropGradient(dy, ws);
        double[] dx = Exact.values(g.getSecond());
        double[] dGamma = Exact.values(g.getFirst().getGradientFor("gamma")), dBeta = Exact.values(g.getFirst().getGradientFor("beta"));
        Exact.assertClose(e.y(), Exact.values(y), 1e-12, name + ": output against the reference");
        Exact.assertClose(e.dx(), dx, 1e-12, name + ": input gradient against the reference");
        Exact.assertClose(e.paramGradients().get("gamma"), dGamma, 1e-12, name + ": gradient of gamma against the reference");
        Exact.assertClose(e.paramGradients().get("beta"), dBeta, 1e-12, name + ": gradient of beta against the reference");

        // the closed form on the constant feature
        double gamma0 = params.get("gamma")[0], beta0 = params.get("beta")[0], meanDy = 0, sumDy = 0;
        for (int i = 0; i < n; i++) sumDy += dy.getDouble(i, 0);
        meanDy = sumDy / n;
        double[] dx0 = new double[n], dx0Expected = new double[n];
        for (int i = 0; i < n; i++) {
            assertEquals(beta0, y.getDouble(i, 0), 0.0, name + ": y = beta exactly on the constant feature, sample " + i);
            dx0[i] = dx[i * F];
            dx0Expected[i] = gamma0 / Math.sqrt(conf.getEps()) * (dy.getDouble(i, 0) - meanDy);
        }
        Exact.assertClose(dx0Expected, dx0, 1e-12, name + ": dx = gamma/sqrt(eps) (dy - mean dy) on the constant feature");
        assertEquals(0.0, dGamma[0], 0.0, name + ": dgamma = 0 on the constant feature");
        assertEquals(sumDy, dBeta[0], 1e-12 * Math.abs(sumDy), name + ": dbeta = sum dy on the constant feature");

        // the optimizer step applies the batch statistics
        double[] mean = params.get("mean").clone(), var = params.get("var").clone();
        List<Ref.Fwd> stats = model.batchStatistics(in);
        RefModel.updateRunning(conf, model.minCount(), mean, var, 0, stats);
        l.applyConstraints(0, 0);
        Exact.assertClose(mean, Exact.values(l.getParam("mean")), 1e-12, name + ": running mean against the reference");
        Exact.assertClose(var, Exact.values(l.getParam("var")), 1e-12, name + ": running variance against the reference");
        double d = conf.getDecay();
        assertEquals(d * params.get("mean")[0] + (1 - d) * constant, l.getParam("mean").getDouble(0), 1e-15,
                name + ": running mean of the constant feature moves toward the constant");
        assertEquals(d * params.get("var")[0], l.getParam("var").getDouble(0), 1e-15,
                name + ": running variance of the constant feature moves toward 0");
    }

    private static void constantFeatureInANetwork(Supplier<AbstractNormLayer> norm, String name) {
        MultiLayerNetwork net = dense(norm::get, DataType.DOUBLE);
        // the dense layer's first unit sees only zeros: a dead unit, its normalized input constant
        net.getLayer(0).getParam("W").getColumn(0).assign(0);
        net.getLayer(0).getParam("b").putScalar(0, 0.0);
        Nd4j.getRandom().setSeed(5);
        DataSet ds = new DataSet(Nd4j.randn(DataType.DOUBLE, 16, F), Nd4j.eye(2).repeat(0, 8).reshape(16, 2));
        net.setInput(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.computeGradientAndScore();
        assertTrue(finite(net.gradient().gradient()), name + ": gradients on a constant feature");
        double d = ((AbstractNormLayer) net.getLayer(1).conf().getLayer()).getDecay();
        double mean0 = net.getLayer(1).getParam("mean").getDouble(0), var0 = net.getLayer(1).getParam("var").getDouble(0);
        net.fit(ds);
        assertTrue(finite(net.params()), name + ": parameters after a step");
        assertEquals(d * mean0, net.getLayer(1).getParam("mean").getDouble(0), 1e-15, name + ": running mean of the dead unit");
        assertEquals(d * var0, net.getLayer(1).getParam("var").getDouble(0), 1e-15, name + ": running variance of the dead unit");
    }

    /**
     * smallBatch(ERROR) with a mask: a training batch in which some statistics group has fewer unmasked values than the
     * statistic needs (every step masked: 0; one sample and one step: 1; for top-3 also two values) is refused with a
     * DL4JInvalidInputException naming the layer, the number needed and the group size that came; every parameter,
     * the running statistics included, is bit-identical afterwards. A mask that leaves enough values trains.
     */
    @Test
    void smallBatchErrorRefusesMaskedGroupsWithNothingChanged() {
        AbstractNormLayer.SmallBatch error = AbstractNormLayer.SmallBatch.ERROR;
        List<Supplier<Layer>> layers = List.of(() -> new BatchNorm.Builder().smallBatch(error).build(),
                () -> new LpBatchNorm.Builder().p(3).smallBatch(error).build(),
                () -> new LpBatchNorm.Builder().topK(3).smallBatch(error).build(),
                () -> new GhostBatchNorm.Builder().virtualBatchSize(2).smallBatch(error).build());
        for (Supplier<Layer> norm : layers) {
            AbstractNormLayer conf = (AbstractNormLayer) norm.get();
            String name = conf.getClass().getSimpleName() + " " + conf.getStatistic();
            int needed = conf.getStatistic().minCount();
            MultiLayerNetwork net = rnn(norm, DataType.DOUBLE);
            net.fit(sequences(4, null, 1));
            INDArray before = net.params().dup();
            INDArray none = Nd4j.zeros(DataType.DOUBLE, 4, T), one = none.dup(), two = none.dup();
            one.putScalar(0, 0, 1);
            two.putScalar(0, 0, 1);
            two.putScalar(1, 0, 1);
            List<INDArray> refused = new ArrayList<>(List.of(none, one));
            if (needed > 2) refused.add(two);
            for (INDArray mask : refused) {
                long valid = mask.sumNumber().longValue();
                // ghost batches of 2 are statistics groups of one forward: samples 2 and 3 hold no valid value
                long group = conf.getVirtualBatchSize() == 2 ? 0 : valid;
                DL4JInvalidInputException ex = assertThrows(DL4JInvalidInputException.class, () -> net.fit(sequences(4, mask, 2)),
                        name + ": a masked batch of " + valid + " valid values");
                String msg = ex.getMessage();
                assertTrue(msg.contains(conf.getClass().getSimpleName()) && msg.contains("layer1")
                        && msg.contains("at least " + needed + " unmasked values per statistics group")
                        && msg.contains("got a group of " + group), name + ": " + msg);
                Exact.assertSame(before, net.params(), name + ": parameters after a refused batch of " + valid + " valid values");
            }
            // enough values in every group: sample 0 at every step, sample 2 at steps 0 and 1 (each ghost batch 4 or more)
            INDArray enough = Nd4j.zeros(DataType.DOUBLE, 4, T);
            for (int t = 0; t < T; t++) enough.putScalar(0, t, 1);
            enough.putScalar(2, 0, 1);
            enough.putScalar(2, 1, 1);
            enough.putScalar(3, 0, 1);
            enough.putScalar(3, 1, 1);
            net.fit(sequences(4, enough, 3));
            assertFalse(Exact.same(before.dup(), net.params()), name + ": a batch with enough values trains");
            assertTrue(finite(net.params()), name + ": parameters finite");
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

    /**
     * WeightNormDense in a float16 network, and bfloat16 input to one in a float32 network (DL4J has no bfloat16
     * networks): computed in float32, the output and the input gradient in the input's type. v is scaled so that
     * ‖v_j‖ ≈ 850, whose square overflows float16 (largest finite value 65504), as a direction that grew in training
     * does. Against a float64 network with the same parameters and input ([64, 8], tanh): the training output, the input
     * gradient and the gradients of v, g and b within 1e-3 relative (float16 rounds each result once, by at most
     * 2^-11) or 8e-3 (bfloat16: 2^-8). One fit leaves every parameter finite.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"HALF", "BFLOAT16"})
    void weightNormComputesInFloat32(String type) {
        DataType dt = DataType.valueOf(type);
        DataType netType = dt == DataType.BFLOAT16 ? DataType.FLOAT : dt;
        double tol = dt == DataType.HALF ? 1e-3 : 8e-3;
        Supplier<Layer> wn = () -> new WeightNormDense.Builder().nOut(8).activation(Activation.TANH).build();
        MultiLayerNetwork low = dense(wn, netType), ref = dense(wn, DataType.DOUBLE);
        low.initGradientsView();
        ref.initGradientsView();
        org.deeplearning4j.nn.api.Layer l = low.getLayer(1), r = ref.getLayer(1);
        Nd4j.getRandom().setSeed(11);
        INDArray v = l.getParam("v"), g = l.getParam("g"), b = l.getParam("b");
        v.assign(Nd4j.randn(DataType.DOUBLE, v.shape()).muli(300));
        g.assign(Nd4j.rand(DataType.DOUBLE, g.shape()).addi(0.5));
        b.assign(Nd4j.rand(DataType.DOUBLE, b.shape()).subi(0.5));
        ref.setParams(low.params().castTo(DataType.DOUBLE));
        INDArray h = Nd4j.randn(DataType.DOUBLE, 64, 8).castTo(dt), dy = Nd4j.randn(DataType.DOUBLE, 64, 8).castTo(dt);
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        INDArray yl = l.activate(h, true, ws).dup();
        Pair<Gradient, INDArray> gl = l.backpropGradient(dy, ws);
        INDArray yr = r.activate(h.castTo(DataType.DOUBLE), true, ws).dup();
        Pair<Gradient, INDArray> gr = r.backpropGradient(dy.castTo(DataType.DOUBLE), ws);
        assertEquals(dt, yl.dataType(), type + ": output type");
        assertEquals(dt, gl.getSecond().dataType(), type + ": input gradient type");
        Exact.assertClose(Exact.values(yr), Exact.values(yl), tol, type + ": training output");
        Exact.assertClose(Exact.values(gr.getSecond()), Exact.values(gl.getSecond()), tol, type + ": input gradient");
        for (String p : List.of("v", "g", "b")) {
            Exact.assertClose(Exact.values(gr.getFirst().getGradientFor(p)), Exact.values(gl.getFirst().getGradientFor(p)), tol,
                    type + ": gradient of " + p);
        }
        Nd4j.getRandom().setSeed(12);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 64, F).castTo(netType);
        INDArray before = low.params().dup();
        low.fit(new DataSet(x, Nd4j.eye(2).repeat(0, 32).reshape(64, 2).castTo(netType)));
        assertTrue(finite(low.params()), type + ": parameters after a step");
        assertFalse(Exact.same(before, low.params()), type + ": the step trained");
    }

    /**
     * The data-dependent initialization of WeightNormDense in a float16 network (v scaled so that ‖v_j‖ ≈ 850, whose
     * square overflows float16): on the first training forward its statistics are taken in float32, so the identity
     * pre-activations of that batch ([256, 8]) have, per unit, mean 0 within 1e-2 and biased variance 1 within 1e-2
     * (float16 keeps the output to 2^-11 of each value), and the initialization flag is set.
     */
    @Test
    void weightNormDataInitInFloat16() {
        MultiLayerNetwork net = dense(() -> new WeightNormDense.Builder().nOut(8).dataInit(true).activation(Activation.IDENTITY).build(),
                DataType.HALF);
        org.deeplearning4j.nn.api.Layer l = net.getLayer(1);
        Nd4j.getRandom().setSeed(13);
        INDArray v = l.getParam("v");
        v.assign(Nd4j.randn(DataType.DOUBLE, v.shape()).muli(300));
        INDArray h = Nd4j.randn(DataType.DOUBLE, 256, 8).muli(2).addi(1).castTo(DataType.HALF);
        INDArray z = l.activate(h, true, LayerWorkspaceMgr.noWorkspaces()).castTo(DataType.DOUBLE);
        assertEquals(DataType.HALF, l.activate(h, false, LayerWorkspaceMgr.noWorkspaces()).dataType(), "output type");
        assertEquals(1.0, l.getParam("initDone").getDouble(0), 0.0, "initialization flag");
        INDArray mean = z.mean(0), var = z.var(false, 0);
        for (int j = 0; j < 8; j++) {
            assertEquals(0.0, mean.getDouble(j), 1e-2, "mean of unit " + j + " after the initialization");
            assertEquals(1.0, var.getDouble(j), 1e-2, "variance of unit " + j + " after the initialization");
        }
        assertTrue(finite(net.params()), "parameters finite");
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
