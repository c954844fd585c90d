package org.bn4j.layers.weightnorm;

import org.bn4j.runtime.WeightNormLayerImpl;
import org.bn4j.runtime.WeightNormParamInitializer;
import org.bn4j.check.InputKind;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

import java.util.Set;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gradient check is sensitive to the mistakes this layer invites: dropping the projection term of ∇v
 * (∇v = (g/‖v‖)∇w, the gradient as if ‖v‖ were a constant) and doubling a gradient (what DL4J's stock
 * SameDiffLayer did here, see DL4J-NOTES) must both fail it.
 */
class WeightNormWrongGradientTest {

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @Test
    void correctGradientPassesAndWrongOnesFail() {
        assertTrue(check(() -> new WeightNormDense.Builder().nOut(4).activation(Activation.TANH).build()),
                "the layer's own gradient must pass");
        assertFalse(check(() -> new Wrong(Mistake.NO_PROJECTION)), "∇v without the projection term passed the check");
        assertFalse(check(() -> new Wrong(Mistake.DOUBLE_G)), "a doubled ∇g passed the check");
    }

    private static boolean check(Supplier<AbstractWeightNormLayer> layer) {
        WnCase c = new WnCase("wrong", layer, InputKind.FF, Activation.TANH, 0);
        MultiLayerNetwork net = WnNets.mln(c, new NoOp(), 3);
        return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                .input(WnNets.input(InputKind.FF, 5, 4)).labels(WnNets.labels(5, 4)).epsilon(1e-6).maxRelError(1e-5)
                .minAbsoluteError(1e-9).excludeParams(Set.of()));
    }

    enum Mistake { NO_PROJECTION, DOUBLE_G }

    /** A dense weight-norm layer whose backward makes one mistake (test only). */
    static class Wrong extends WeightNormDense {
        final Mistake mistake;

        Wrong(Mistake mistake) {
            super(new WeightNormDense.Builder().nOut(4).activation(Activation.TANH));
            this.mistake = mistake;
        }

        @Override
        protected WeightNormLayerImpl newRuntime(NeuralNetConfiguration conf, DataType dataType) {
            return new WeightNormLayerImpl(conf, dataType) {
                @Override
                public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr ws) {
                    Pair<Gradient, INDArray> p = super.backpropGradient(epsilon, ws);
                    INDArray dg = p.getFirst().getGradientFor(WeightNormParamInitializer.G);
                    if (mistake == Mistake.DOUBLE_G) {
                        dg.muli(2);
                    } else {
                        // (g/‖v‖)∇w = ∇v + (g/‖v‖)(∇g/‖v‖) v, per column of v [nIn, nOut]
                        INDArray v = getParam(WeightNormParamInitializer.V);
                        INDArray norm = v.norm2(0);
                        INDArray coef = getParam(WeightNormParamInitializer.G).div(norm).muli(dg).divi(norm);
                        p.getFirst().getGradientFor(WeightNormParamInitializer.V).addi(v.mulRowVector(coef.reshape(1, -1)));
                    }
                    return p;
                }
            };
        }
    }
}
