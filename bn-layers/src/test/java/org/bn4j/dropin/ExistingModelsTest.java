package org.bn4j.dropin;

import org.bn4j.check.Exact;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchNorm;
import org.bn4j.layers.BatchRenorm;
import org.bn4j.layers.GhostBatchNorm;
import org.bn4j.layers.InstanceNorm;
import org.bn4j.layers.LpBatchNorm;
import org.nd4j.linalg.dataset.ViewIterator;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.OptimizationAlgorithm;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.misc.FrozenLayerWithBackprop;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * bn4j inside the training loops DL4J users already have, through the public API only: running statistics move
 * exactly once per optimizer step whatever the optimizer, gradient computations change nothing, frozen layers and
 * transfer learning keep their statistics and pass correct gradients, a last minibatch of one sample trains on.
 */
class ExistingModelsTest {
    static final int F = 4;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /** norm → dense → output, the norm layer first so that its batch statistics do not depend on the parameters. */
    private static MultiLayerNetwork normFirst(Supplier<Layer> norm, OptimizationAlgorithm algo, WorkspaceMode ws) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE)
                .updater(new Sgd(0.05)).optimizationAlgo(algo).trainingWorkspaceMode(ws).inferenceWorkspaceMode(ws)
                .weightInit(WeightInit.XAVIER).list()
                .layer(norm.get())
                .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(F)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    private static ComputationGraph normFirstGraph(Supplier<Layer> norm, OptimizationAlgorithm algo, WorkspaceMode ws) {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE)
                .updater(new Sgd(0.05)).optimizationAlgo(algo).trainingWorkspaceMode(ws).inferenceWorkspaceMode(ws)
                .weightInit(WeightInit.XAVIER).graphBuilder().addInputs("in")
                .addLayer("norm", norm.get(), "in")
                .addLayer("dense", new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build(), "norm")
                .addLayer("out", new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3)
                        .activation(Activation.SOFTMAX).build(), "dense")
                .setOutputs("out").setInputTypes(InputType.feedForward(F)).build();
        ComputationGraph net = new ComputationGraph(conf);
        net.init();
        return net;
    }

    private static DataSet data(int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        INDArray x = Nd4j.randn(DataType.DOUBLE, n, F).muli(2).addi(1);
        INDArray y = Nd4j.zeros(DataType.DOUBLE, n, 3);
        for (int i = 0; i < n; i++) y.putScalar(i, i % 3, 1);
        return new DataSet(x, y);
    }

    /** The one-update rule from the running statistics before a step: the batch's mean and unbiased variance. */
    private static INDArray[] oneUpdate(INDArray mean, INDArray var, INDArray x, double decay) {
        long n = x.size(0);
        INDArray mu = x.mean(0), v = x.var(false, 0).muli((double) n / (n - 1));
        return new INDArray[]{mean.mul(decay).addi(mu.mul(1 - decay)), var.mul(decay).addi(v.mul(1 - decay))};
    }

    static Stream<Arguments> optimizers() {
        List<Arguments> out = new ArrayList<>();
        for (OptimizationAlgorithm a : new OptimizationAlgorithm[]{OptimizationAlgorithm.STOCHASTIC_GRADIENT_DESCENT,
                OptimizationAlgorithm.LINE_GRADIENT_DESCENT, OptimizationAlgorithm.CONJUGATE_GRADIENT, OptimizationAlgorithm.LBFGS}) {
            for (WorkspaceMode ws : new WorkspaceMode[]{WorkspaceMode.ENABLED, WorkspaceMode.NONE}) out.add(Arguments.of(a, ws));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}, workspaces {1}")
    @MethodSource("optimizers")
    void runningStatisticsMoveOncePerOptimizerStep(OptimizationAlgorithm algo, WorkspaceMode ws) {
        Supplier<Layer> bn = () -> new BatchNorm.Builder().decay(0.8).build();
        MultiLayerNetwork net = normFirst(bn, algo, ws);
        ComputationGraph graph = normFirstGraph(bn, algo, ws);
        for (int step = 0; step < 3; step++) {
            DataSet ds = data(16, 10 + step);
            INDArray[] expected = oneUpdate(net.getLayer(0).getParam("mean"), net.getLayer(0).getParam("var"), ds.getFeatures(), 0.8);
            net.fit(ds);
            assertTrue(expected[0].equalsWithEps(net.getLayer(0).getParam("mean"), 1e-12),
                    algo + ": MultiLayerNetwork running mean after step " + step + ": " + net.getLayer(0).getParam("mean")
                            + ", expected " + expected[0]);
            assertTrue(expected[1].equalsWithEps(net.getLayer(0).getParam("var"), 1e-12), algo + ": running variance");

            INDArray[] expectedG = oneUpdate(graph.getLayer("norm").getParam("mean"), graph.getLayer("norm").getParam("var"),
                    ds.getFeatures(), 0.8);
            graph.fit(ds);
            assertTrue(expectedG[0].equalsWithEps(graph.getLayer("norm").getParam("mean"), 1e-12),
                    algo + ": ComputationGraph running mean after step " + step);
            assertTrue(expectedG[1].equalsWithEps(graph.getLayer("norm").getParam("var"), 1e-12), algo + ": graph running variance");
        }
    }

    @Test
    void computingGradientsAndScoresChangesNothing() {
        MultiLayerNetwork net = normFirst(() -> new BatchNorm.Builder().build(), OptimizationAlgorithm.STOCHASTIC_GRADIENT_DESCENT,
                WorkspaceMode.ENABLED);
        net.fit(data(16, 1));
        INDArray before = net.params().dup();
        DataSet ds = data(16, 2);
        net.setInput(ds.getFeatures());
        net.setLabels(ds.getLabels());
        for (int i = 0; i < 3; i++) net.computeGradientAndScore();
        net.score(ds, true);
        net.output(ds.getFeatures(), true);
        Exact.assertSame(before, net.params(), "parameters after computeGradientAndScore, score and output");
        // and the next real step applies its own batch's statistics, not the inspected ones
        DataSet next = data(16, 3);
        INDArray[] expected = oneUpdate(net.getLayer(0).getParam("mean"), net.getLayer(0).getParam("var"), next.getFeatures(), 0.9);
        net.fit(next);
        assertTrue(expected[0].equalsWithEps(net.getLayer(0).getParam("mean"), 1e-12), "running mean of the next step");
    }

    /** dense → norm → dense → output, for frozen and transfer-learning setups. */
    private static MultiLayerNetwork middle(Supplier<Layer> norm, boolean frozenWithBackprop) {
        return middle(norm, frozenWithBackprop, new Sgd(0.1));
    }

    private static MultiLayerNetwork middle(Supplier<Layer> norm, boolean frozenWithBackprop,
                                            org.nd4j.linalg.learning.config.IUpdater updater) {
        Layer n = norm.get();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE)
                .updater(updater).weightInit(WeightInit.XAVIER).list()
                .layer(new DenseLayer.Builder().nOut(F).activation(Activation.IDENTITY).build())
                .layer(frozenWithBackprop ? new FrozenLayerWithBackprop(n) : n)
                .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.feedForward(F)).build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static Stream<Supplier<Layer>> runningLayers() {
        return Stream.of(() -> new BatchNorm.Builder().build(), () -> new LpBatchNorm.Builder().p(1).build(),
                () -> new GhostBatchNorm.Builder().virtualBatchSize(4).build(),
                () -> new BatchRenorm.Builder().schedule(0, 0, 0).build());
    }

    @ParameterizedTest
    @MethodSource("runningLayers")
    void frozenLayerWithBackpropKeepsStatisticsAndPassesTheRightGradient(Supplier<Layer> norm) {
        MultiLayerNetwork trained = middle(norm, false);
        for (int i = 0; i < 3; i++) trained.fit(data(8, 20 + i));
        MultiLayerNetwork frozen = middle(norm, true);
        frozen.setParams(trained.params());
        INDArray stats = frozen.getLayer(1).params().dup();
        for (int i = 0; i < 3; i++) frozen.fit(data(8, 30 + i));
        Exact.assertSame(stats, frozen.getLayer(1).params(), "frozen layer's γ, β and running statistics after 3 fits");

        MultiLayerNetwork noOp = middle(norm, true, new NoOp());
        noOp.setParams(frozen.params());
        DataSet ds = data(8, 40);
        boolean ok = GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(noOp).input(ds.getFeatures())
                .labels(ds.getLabels()).epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9)
                .excludeParams(Set.of("1_gamma", "1_beta", "1_mean", "1_var", "1_steps")));
        assertTrue(ok, "gradients through a bn4j layer inside FrozenLayerWithBackprop");
    }

    @Test
    void transferLearningFeatureExtractorAndFineTuning() {
        MultiLayerNetwork trained = middle(() -> new BatchNorm.Builder().build(), false);
        for (int i = 0; i < 3; i++) trained.fit(data(8, 50 + i));
        MultiLayerNetwork tl = new TransferLearning.Builder(trained)
                .fineTuneConfiguration(new FineTuneConfiguration.Builder().updater(new Sgd(0.01)).build())
                .setFeatureExtractor(1).build();
        INDArray frozenParams = tl.getLayer(1).params().dup();
        INDArray firstParams = tl.getLayer(0).params().dup();
        for (int i = 0; i < 3; i++) tl.fit(data(8, 60 + i));
        Exact.assertSame(frozenParams, tl.getLayer(1).params(), "feature extractor's norm layer (γ, β, statistics)");
        Exact.assertSame(firstParams, tl.getLayer(0).params(), "feature extractor's first layer");
        assertFalse(Exact.same(trained.getLayer(2).params(), tl.getLayer(2).params()), "the head trained");

        // fine-tuning the whole network with frozen statistics: γ, β train, the statistics stay
        MultiLayerNetwork ft = middle(() -> new BatchNorm.Builder().frozenStatistics(true).build(), false);
        ft.setParams(trained.params());
        INDArray mean = ft.getLayer(1).getParam("mean").dup(), var = ft.getLayer(1).getParam("var").dup();
        INDArray gamma = ft.getLayer(1).getParam("gamma").dup();
        for (int i = 0; i < 3; i++) ft.fit(data(8, 70 + i));
        Exact.assertSame(mean, ft.getLayer(1).getParam("mean"), "running mean under frozenStatistics");
        Exact.assertSame(var, ft.getLayer(1).getParam("var"), "running variance under frozenStatistics");
        assertFalse(Exact.same(gamma, ft.getLayer(1).getParam("gamma")), "γ trained under frozenStatistics");
        // its training output is the inference function
        INDArray x = data(8, 80).getFeatures();
        Exact.assertSame(ft.output(x, false), ft.output(x, true), "training-mode output with frozen statistics");
    }

    @Test
    void aLastMinibatchOfOneSampleTrainsOn() {
        MultiLayerNetwork net = middle(() -> new BatchNorm.Builder().build(), false);
        net.fit(new ViewIterator(data(129, 90), 128));    // batches of 128 and 1
        assertEquals(2, net.getIterationCount(), "two steps in the epoch");
        INDArray p = net.params();
        assertTrue(java.util.Arrays.stream(Exact.values(p)).allMatch(Double::isFinite), "finite parameters");

        // PyTorch's behaviour as an option: an error naming the layer, nothing changed
        MultiLayerNetwork strict = middle(() -> new BatchNorm.Builder().smallBatch(AbstractNormLayer.SmallBatch.ERROR).build(), false);
        strict.fit(data(8, 91));
        INDArray before = strict.params().dup();
        Exception e = assertThrows(Exception.class, () -> strict.fit(data(1, 92)));
        assertTrue(e.getMessage().contains("BatchNorm") && e.getMessage().contains("at least 2"), e.getMessage());
        Exact.assertSame(before, strict.params(), "parameters after a refused batch");
    }

    @Test
    void oneSampleBatchUsesTheRunningStatisticsAndLeavesThemUnchanged() {
        MultiLayerNetwork net = middle(() -> new BatchNorm.Builder().build(), false);
        for (int i = 0; i < 3; i++) net.fit(data(8, 100 + i));
        INDArray mean = net.getLayer(1).getParam("mean").dup(), var = net.getLayer(1).getParam("var").dup();
        DataSet one = data(1, 103);
        assertTrue(Exact.same(net.output(one.getFeatures(), false), net.output(one.getFeatures(), true)),
                "a batch of one is normalized with the running statistics in training");
        net.fit(one);
        Exact.assertSame(mean, net.getLayer(1).getParam("mean"), "running mean after a batch of one");
        Exact.assertSame(var, net.getLayer(1).getParam("var"), "running variance after a batch of one");
    }

    @Test
    void instanceNormNeedsPositions() {
        Exception e = assertThrows(Exception.class, () -> middle(() -> new InstanceNorm.Builder().build(), false));
        assertTrue(e.getMessage().contains("InstanceNorm needs CNN"), e.getMessage());
    }
}
