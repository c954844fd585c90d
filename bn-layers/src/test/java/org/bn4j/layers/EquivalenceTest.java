package org.bn4j.layers;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Size;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.bn4j.runtime.NormLayerImpl;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.Set;
import java.util.function.Supplier;

import static org.bn4j.check.Exact.assertClose;
import static org.bn4j.check.Exact.values;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The family's documented identities (each would fail if one layer's axes or options were wrong), and batch norm
 * against DL4J's built-in layer.
 */
class EquivalenceTest {
    static final Size S = new Size(8, 4, 3);

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /** Training and inference outputs, gradients and parameters after fits of two layers, within tol (0: identical). */
    private static void same(String what, InputKind k, Supplier<org.deeplearning4j.nn.conf.layers.Layer> a,
                             Supplier<org.deeplearning4j.nn.conf.layers.Layer> b, double tol) {
        MultiLayerNetwork na = CheckNets.mln(a, k, S, new Sgd(0.1), true, 3), nb = CheckNets.mln(b, k, S, new Sgd(0.1), true, 3);
        nb.setParams(na.params());
        for (int i = 0; i < 3; i++) {
            DataSet ds = CheckNets.dataSet(k, S, false, S.batch(), 10 + i);
            na.fit(ds);
            nb.fit(ds);
        }
        INDArray x = CheckNets.input(k, S, S.batch(), 99);
        if (tol == 0) {
            Exact.assertSame(na.params(), nb.params(), what + ": parameters and running statistics after fits");
            Exact.assertSame(na.output(x, true), nb.output(x, true), what + ": training output");
            Exact.assertSame(na.output(x, false), nb.output(x, false), what + ": inference output");
        } else {
            assertClose(values(na.params()), values(nb.params()), tol, what + ": parameters after fits");
            assertClose(values(na.output(x, true)), values(nb.output(x, true)), tol, what + ": training output");
            assertClose(values(na.output(x, false)), values(nb.output(x, false)), tol, what + ": inference output");
        }
    }

    @ParameterizedTest(name = "GroupNorm(1) == LayerNorm / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "CNN_NCHW", "CNN_NHWC", "CNN3D_NDHWC"})
    void oneGroupIsLayerNorm(InputKind k) {
        same("GroupNorm(1) vs LayerNorm", k, () -> new GroupNorm.Builder(1).build(), () -> new LayerNorm.Builder().build(), 0);
    }

    @ParameterizedTest(name = "GroupNorm(C) == InstanceNorm / {0}")
    @EnumSource(value = InputKind.class, names = {"CNN_NCHW", "CNN_NHWC", "CNN3D_NCDHW", "RNN_NWC"})
    void oneChannelPerGroupIsInstanceNorm(InputKind k) {
        same("GroupNorm(C) vs InstanceNorm", k, () -> new GroupNorm.Builder((int) S.channels()).build(),
                () -> new InstanceNorm.Builder().build(), 0);
    }

    @ParameterizedTest(name = "RMSNorm == LayerNorm without centring and beta / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "RNN_NCW"})
    void rmsNormIsUncenteredLayerNorm(InputKind k) {
        same("RMSNorm vs LayerNorm(center=false, bias=false)", k, () -> new RMSNorm.Builder().build(),
                () -> new LayerNorm.Builder().center(false).bias(false).build(), 0);
    }

    @ParameterizedTest(name = "BatchRenorm with r_max = 1, d_max = 0 == BatchNorm / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "CNN_NHWC", "RNN_NCW"})
    void renormWithClosedBoundsIsBatchNorm(InputKind k) {
        Supplier<org.deeplearning4j.nn.conf.layers.Layer> renorm = () -> new BatchRenorm.Builder().rMax(1).dMax(0)
                .schedule(0, 0, 0).build();
        MultiLayerNetwork a = CheckNets.mln(() -> new BatchNorm.Builder().build(), k, S, new Sgd(0.1), true, 4);
        MultiLayerNetwork b = CheckNets.mln(renorm, k, S, new Sgd(0.1), true, 4);
        // the same parameters, layer by layer (renorm's norm layer has one more: its step count, 0)
        for (int i = 0; i < a.getLayers().length; i++) {
            INDArray p = a.getLayer(i).params();
            b.getLayer(i).setParams(i == 1 ? Nd4j.concat(0, p.reshape(p.length()), Nd4j.zeros(DataType.DOUBLE, 1)) : p);
        }
        for (int i = 0; i < 3; i++) {
            DataSet ds = CheckNets.dataSet(k, S, false, S.batch(), 20 + i);
            a.fit(ds);
            b.fit(ds);
        }
        INDArray x = CheckNets.input(k, S, S.batch(), 98);
        Exact.assertSame(a.output(x, true), b.output(x, true), "training output");
        Exact.assertSame(a.getLayer(1).getParam("var"), b.getLayer(1).getParam("var"), "running variance");
        assertEquals(3, b.getLayer(1).getParam("steps").getDouble(0), "renorm counts its steps");
    }

    @ParameterizedTest(name = "NoisyBatchNorm without noise == BatchNorm / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "CNN_NCHW", "RNN_NWC"})
    void noisyWithZeroNoiseIsBatchNorm(InputKind k) {
        same("noise none after", k, () -> new BatchNorm.Builder().build(),
                () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.none()).build(), 0);
        same("noise none before", k, () -> new BatchNorm.Builder().build(),
                () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.none()).noiseBeforeAffine(true).build(), 1e-14);
    }

    /** Ghost batches are batch norm on each ghost batch: the training output against batch norm of the slices. */
    @ParameterizedTest(name = "GhostBatchNorm(3) == BatchNorm of each ghost batch / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "CNN_NHWC", "RNN_NCW"})
    void ghostIsBatchNormOfEachGhostBatch(InputKind k) {
        Size s = new Size(9, 3, 3);
        Layer ghost = CheckNets.alone(() -> new GhostBatchNorm.Builder().virtualBatchSize(3).build(), k, s, DataType.DOUBLE).getLayer(0);
        Layer bn = CheckNets.alone(() -> new BatchNorm.Builder().build(), k, s, DataType.DOUBLE).getLayer(0);
        Nd4j.getRandom().setSeed(2);
        INDArray gamma = Nd4j.rand(DataType.DOUBLE, 3).addi(0.5), beta = Nd4j.randn(DataType.DOUBLE, 3);
        for (Layer l : new Layer[]{ghost, bn}) {
            l.getParam("gamma").assign(gamma);
            l.getParam("beta").assign(beta);
        }
        INDArray x = CheckNets.input(k, s, 9, 5);
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        ghost.setInput(x, ws);
        INDArray y = ghost.activate(true, ws).dup();
        for (int g = 0; g < 3; g++) {
            INDArray slice = x.get(NDArrayIndex.interval(3 * g, 3 * g + 3)).dup();
            bn.setInput(slice, ws);
            INDArray expected = bn.activate(true, ws);
            assertClose(values(expected), values(y.get(NDArrayIndex.interval(3 * g, 3 * g + 3))), 1e-12,
                    k + ": ghost batch " + g);
        }
        bn.setInput(x, ws);
        assertTrue(Exact.relativeError(values(bn.activate(true, ws)), values(y)) > 1e-3,
                k + ": ghost batches differ from batch norm over the whole batch");
    }

    /** The kinds DL4J's built-in layer supports. */
    @ParameterizedTest(name = "BatchNorm vs DL4J BatchNormalization / {0}")
    @EnumSource(value = InputKind.class, names = {"FF", "CNN_NCHW", "CNN_NHWC"})
    void sameAsDl4jBuiltIn(InputKind kind) {
        Layer a = CheckNets.alone(() -> new BatchNorm.Builder().decay(0.8).eps(1e-4).build(), kind, S, DataType.DOUBLE).getLayer(0);
        Layer b = CheckNets.alone(() -> new BatchNormalization.Builder().decay(0.8).eps(1e-4).useLogStd(false).build(), kind, S,
                DataType.DOUBLE).getLayer(0);
        Nd4j.getRandom().setSeed(3);
        INDArray gamma = Nd4j.rand(DataType.DOUBLE, S.channels()).addi(0.5), beta = Nd4j.randn(DataType.DOUBLE, S.channels());
        a.getParam("gamma").assign(gamma);
        a.getParam("beta").assign(beta);
        b.getParam(BatchNormalizationParamInitializer.GAMMA).assign(gamma);
        b.getParam(BatchNormalizationParamInitializer.BETA).assign(beta);
        INDArray x = Nd4j.randn(DataType.DOUBLE, kind.shape(7, S.channels(), S.side())).muli(2).addi(1);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, x.shape());
        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        a.setInput(x, ws);
        b.setInput(x, ws);
        assertClose(values(b.activate(true, ws)), values(a.activate(true, ws)), 1e-8, kind + " training output");
        Pair<Gradient, INDArray> ga = a.backpropGradient(dy, ws), gb = b.backpropGradient(dy, ws);
        assertClose(values(gb.getSecond()), values(ga.getSecond()), 1e-8, kind + " dx");
        for (String p : new String[]{"gamma", "beta"}) {
            assertClose(values(gb.getFirst().getGradientFor(p)), values(ga.getFirst().getGradientFor(p)), 1e-8, kind + " d" + p);
        }
        INDArray mean = Nd4j.randn(DataType.DOUBLE, S.channels()), var = Nd4j.rand(DataType.DOUBLE, S.channels()).addi(0.2);
        a.getParam("mean").assign(mean);
        a.getParam("var").assign(var);
        b.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN).assign(mean);
        b.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR).assign(var);
        a.setInput(x, ws);
        b.setInput(x, ws);
        assertClose(values(b.activate(false, ws)), values(a.activate(false, ws)), 1e-8, kind + " inference output");
    }

    /** dx = γ/sqrt(σ²+ε)·g holds only for constant statistics, so it must fail the gradient check in training. */
    @Test
    void shortenedGradientFailsTheGradientCheck() {
        assertTrue(check(() -> new BatchNorm.Builder().build()), "the complete gradient must pass");
        assertFalse(check(ShortGradientBatchNorm::new), "the shortened gradient passed the gradient check in training mode");
    }

    private static boolean check(Supplier<org.deeplearning4j.nn.conf.layers.Layer> l) {
        MultiLayerNetwork net = CheckNets.mln(l, InputKind.FF, S, new NoOp(), true, 5);
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(CheckNets.input(InputKind.FF, S, 8, 1)).labels(CheckNets.labels(InputKind.FF, S, 8, 1))
                .epsilon(1e-6).maxRelError(1e-5).minAbsoluteError(1e-9).excludeParams(Set.of("1_mean", "1_var")));
    }

    /** BatchNorm whose backward returns the inference-only gradient dx = γ/sqrt(σ²+ε)·g (test only). */
    static class ShortGradientBatchNorm extends BatchNorm {
        ShortGradientBatchNorm() {
            super(new BatchNorm.Builder());
        }

        @Override
        protected NormLayerImpl newRuntime(NeuralNetConfiguration conf, DataType dt) {
            return new NormLayerImpl(conf, dt) {
                @Override
                public Pair<Gradient, INDArray> backpropGradient(INDArray eps, LayerWorkspaceMgr ws) {
                    Pair<Gradient, INDArray> p = super.backpropGradient(eps, ws);
                    INDArray std = Nd4j.math().sqrt(input.var(false, 0).addi(getEps()));
                    INDArray shortDx = eps.mulRowVector(getParam("gamma").reshape(1, -1).div(std.reshape(1, -1)));
                    return new Pair<>(p.getFirst(), ws.dup(ArrayType.ACTIVATION_GRAD, shortDx));
                }
            };
        }
    }
}
