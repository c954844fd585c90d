package org.bn4j.layers;

import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.bn4j.runtime.InputView;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.params.BatchNormalizationParamInitializer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Set;

import static org.bn4j.layers.NormLayerTest.assertClose;
import static org.bn4j.layers.NormLayerTest.doubles;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BatchNorm against DL4J's built-in BatchNormalization, and the shortened gradient failing the check. */
class BatchNormEquivalenceTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    /** The kinds DL4J's built-in layer supports. */
    @ParameterizedTest(name = "BatchNorm vs DL4J BatchNormalization/{0}")
    @EnumSource(value = Kind.class, names = {"FF", "CNN_NCHW", "CNN_NHWC"})
    void sameAsDl4jBuiltIn(Kind kind) {
        LayerCase ours = LayerCase.simple("ours", () -> new BatchNorm.Builder().decay(0.8).eps(1e-4).build(), kind);
        LayerCase theirs = LayerCase.simple("dl4j", () -> new BatchNormalization.Builder().decay(0.8).eps(1e-4)
                .useLogStd(false).build(), kind);
        Layer a = Nets.alone(ours).getLayer(0);
        Layer b = Nets.alone(theirs).getLayer(0);
        Nd4j.getRandom().setSeed(3);
        INDArray gamma = Nd4j.rand(DataType.DOUBLE, Nets.C).addi(0.5), beta = Nd4j.randn(DataType.DOUBLE, Nets.C);
        a.getParam(NormParamInitializer.GAMMA).assign(gamma);
        a.getParam(NormParamInitializer.BETA).assign(beta);
        b.getParam(BatchNormalizationParamInitializer.GAMMA).assign(gamma);
        b.getParam(BatchNormalizationParamInitializer.BETA).assign(beta);
        INDArray x = Nd4j.randn(DataType.DOUBLE, kind.shape(7, Nets.C, Nets.S)).muli(2).addi(1);
        INDArray dy = Nd4j.randn(DataType.DOUBLE, x.shape());

        LayerWorkspaceMgr ws = LayerWorkspaceMgr.noWorkspaces();
        a.setInput(x, ws);
        b.setInput(x, ws);
        assertClose(kind + " training output", doubles(b.activate(true, ws)), doubles(a.activate(true, ws)), 1e-8);
        Pair<Gradient, INDArray> ga = a.backpropGradient(dy, ws), gb = b.backpropGradient(dy, ws);
        assertClose(kind + " dx", doubles(gb.getSecond()), doubles(ga.getSecond()), 1e-8);
        for (String p : new String[]{NormParamInitializer.GAMMA, NormParamInitializer.BETA}) {
            assertClose(kind + " d" + p, doubles(gb.getFirst().getGradientFor(p)), doubles(ga.getFirst().getGradientFor(p)), 1e-8);
        }

        Nd4j.getRandom().setSeed(4);
        INDArray mean = Nd4j.randn(DataType.DOUBLE, Nets.C), var = Nd4j.rand(DataType.DOUBLE, Nets.C).addi(0.2);
        a.getParam(NormParamInitializer.MEAN).assign(mean);
        a.getParam(NormParamInitializer.VAR).assign(var);
        b.getParam(BatchNormalizationParamInitializer.GLOBAL_MEAN).assign(mean);
        b.getParam(BatchNormalizationParamInitializer.GLOBAL_VAR).assign(var);
        a.setInput(x, ws);
        b.setInput(x, ws);
        assertClose(kind + " inference output", doubles(b.activate(false, ws)), doubles(a.activate(false, ws)), 1e-8);
    }

    /** SPEC §1: dx = γ/sqrt(σ²+ε)·g holds only for constant statistics, so it must fail the check in training. */
    @Test
    void shortenedGradientFailsTheGradientCheck() {
        LayerCase full = LayerCase.simple("full", () -> new BatchNorm.Builder().build(), Kind.FF);
        LayerCase shortened = LayerCase.simple("shortened", () -> new ShortGradientBatchNorm(new BatchNorm.Builder()),
                Kind.FF);
        assertTrue(check(full), "the complete gradient must pass");
        assertFalse(check(shortened), "the shortened gradient passed the gradient check in training mode");
    }

    private static boolean check(LayerCase c) {
        MultiLayerNetwork net = Nets.mln(c, new NoOp(), true, 5);
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(Nets.input(c, 8, 1)).labels(Nets.labels(c, 8, 1)).epsilon(1e-6).maxRelError(1e-5)
                .minAbsoluteError(1e-9).excludeParams(Set.of("1_mean", "1_var")));
    }

    /** BatchNorm whose backward returns the inference-only gradient dx = γ/sqrt(σ²+ε)·g (test only). */
    static class ShortGradientBatchNorm extends BatchNorm {
        ShortGradientBatchNorm(BaseBuilder<?> b) {
            super(b);
        }

        ShortGradientBatchNorm() {
            this(new BatchNorm.Builder());
        }

        @Override
        protected NormLayerImpl newRuntime(NeuralNetConfiguration conf, DataType dt) {
            return new NormLayerImpl(conf, dt) {
                @Override
                public Pair<Gradient, INDArray> backpropGradient(INDArray eps, LayerWorkspaceMgr ws) {
                    Pair<Gradient, INDArray> p = super.backpropGradient(eps, ws);
                    INDArray std = Nd4j.math().sqrt(input.var(false, 0).addi(getEps()));
                    INDArray shortDx = eps.mulRowVector(getParam("gamma").reshape(1, -1).div(std.reshape(1, -1)));
                    return new Pair<>(p.getFirst(), ws.dup(org.deeplearning4j.nn.workspace.ArrayType.ACTIVATION_GRAD, shortDx));
                }
            };
        }
    }
}
