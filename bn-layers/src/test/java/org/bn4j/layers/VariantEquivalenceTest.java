package org.bn4j.layers;

import org.bn4j.runtime.NormLayerImpl;
import org.bn4j.runtime.NormParamInitializer;
import org.bn4j.runtime.InputView;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/** The family's equivalences: each variant reduces to batch norm in its degenerate setting. */
class VariantEquivalenceTest {
    static final long N = 8;

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    @ParameterizedTest(name = "GhostBatchNorm with one group == BatchNorm/{0}")
    @EnumSource(Kind.class)
    void ghostWithOneGroupIsBatchNorm(Kind k) {
        assertSameAsBatchNorm(k, () -> new GhostBatchNorm.Builder().virtualBatchSize((int) N).build(), 0);
        assertSameAsBatchNorm(k, () -> new GhostBatchNorm.Builder().virtualBatchSize(100).build(), 0);
    }

    @ParameterizedTest(name = "LpBatchNorm(p=2) == BatchNorm/{0}")
    @EnumSource(Kind.class)
    void lp2IsBatchNorm(Kind k) {
        assertSameAsBatchNorm(k, () -> new LpBatchNorm.Builder().p(2).build(), 0);
    }

    @ParameterizedTest(name = "NoisyBatchNorm with zero noise == BatchNorm/{0}")
    @EnumSource(Kind.class)
    void noisyWithZeroNoiseIsBatchNorm(Kind k) {
        assertSameAsBatchNorm(k, () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.none()).build(), 1e-15);
        assertSameAsBatchNorm(k, () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.none()).noiseBeforeAffine(true).build(), 1e-15);
    }

    /** Training output, gradients, and running statistics after fits equal BatchNorm's (within tol). */
    private static void assertSameAsBatchNorm(Kind k, Supplier<org.deeplearning4j.nn.conf.layers.Layer> variant, double tol) {
        LayerCase bn = LayerCase.simple("BatchNorm", () -> new BatchNorm.Builder().build(), k);
        LayerCase other = LayerCase.simple("variant", variant, k);
        MultiLayerNetwork a = Nets.mln(bn, new Sgd(0.1), true, 3), b = Nets.mln(other, new Sgd(0.1), true, 3);
        b.setParams(a.params());
        for (int i = 0; i < 3; i++) {
            DataSet ds = new DataSet(Nets.input(bn, N, 10 + i), Nets.labels(bn, N, 10 + i));
            a.fit(ds);
            b.fit(ds);
        }
        String what = other.layer().get().getClass().getSimpleName() + "/" + k;
        assertTrue(a.params().equalsWithEps(b.params(), tol), what + ": parameters and running statistics after fits");
        INDArray x = Nets.input(bn, N, 99);
        assertTrue(a.output(x, true).equalsWithEps(b.output(x, true), tol), what + ": training output");
        assertTrue(a.output(x, false).equalsWithEps(b.output(x, false), tol), what + ": inference output");
    }

    @Test
    void noisyTrainingOutputIsReproducibleFromTheSeed() {
        INDArray x = Nets.input(LayerCase.simple("x", null, Kind.CNN_NCHW), N, 1);
        INDArray y1 = noisyForward(7, x), y2 = noisyForward(7, x), y3 = noisyForward(8, x);
        assertEquals(y1, y2, "same seed, same step: same noise");
        assertNotEquals(y1, y3, "another seed gave the same noise");
        // the noise changes from step to step
        LayerCase c = LayerCase.simple("noisy", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(7)).build(),
                Kind.CNN_NCHW);
        MultiLayerNetwork net = Nets.alone(c);
        Layer l = net.getLayer(0);
        l.setInput(x, Nets.noWs());
        INDArray step0 = l.activate(true, Nets.noWs()).dup();
        l.setIterationCount(1);
        l.setInput(x, Nets.noWs());
        assertNotEquals(step0, l.activate(true, Nets.noWs()), "the noise did not change with the step");
        // inference has no noise: it equals batch norm's inference
        Layer bn = Nets.alone(LayerCase.simple("bn", () -> new BatchNorm.Builder().build(), Kind.CNN_NCHW)).getLayer(0);
        bn.setParams(l.params());
        bn.setInput(x, Nets.noWs());
        l.setInput(x, Nets.noWs());
        assertEquals(bn.activate(false, Nets.noWs()), l.activate(false, Nets.noWs()), "noisy inference is not plain batch norm");
    }

    private static INDArray noisyForward(long seed, INDArray x) {
        LayerCase c = LayerCase.simple("noisy", () -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(seed)).build(),
                Kind.CNN_NCHW);
        Layer l = Nets.alone(c).getLayer(0);
        l.setInput(x, Nets.noWs());
        return l.activate(true, Nets.noWs()).dup();
    }

    @Test
    void noiseMatchesAlgorithmOneStatistics() {
        INDArray[] sm = NoiseConfig.santurkar().withSeed(3).draw(new long[]{20000, 1, 4, 1}, DataType.DOUBLE, 0);
        INDArray s = sm[0].reshape(20000, 4), m = sm[1].reshape(20000, 4);
        for (int j = 0; j < 4; j++) {
            double sigma = s.getColumn(j).meanNumber().doubleValue(), mu = m.getColumn(j).meanNumber().doubleValue();
            assertTrue(sigma >= 1 - 0.01 && sigma <= 1.25 + 0.01, "sigma_j " + sigma + " outside U(1, 1.25)");
            assertTrue(Math.abs(mu) <= 0.5 + 0.01, "mu_j " + mu + " outside U(-0.5, 0.5)");
            assertEquals(0.1, s.getColumn(j).stdNumber().doubleValue(), 0.01, "r_sigma");
            assertEquals(0.2 / Math.sqrt(12), m.getColumn(j).stdNumber().doubleValue(), 0.01, "r_mu (uniform spread)");
        }
    }

    @Test
    void ghostUpdatesRunningStatisticsOncePerGhostBatch() {
        LayerCase g = LayerCase.simple("ghost", () -> new GhostBatchNorm.Builder().virtualBatchSize(4).decay(0.5).build(), Kind.FF);
        MultiLayerNetwork net = Nets.alone(g);
        Layer l = net.getLayer(0);
        INDArray x = Nets.input(g, N, 4); // two ghost batches of 4
        l.setInput(x, Nets.noWs());
        l.activate(true, Nets.noWs());
        l.backpropGradient(Nd4j.zeros(DataType.DOUBLE, x.shape()), Nets.noWs());
        l.applyConstraints(0, 0); // the optimizer step, where the running statistics move
        INDArray m1 = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)).mean(0);
        INDArray m2 = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 8)).mean(0);
        INDArray expected = m1.mul(0.5).mul(0.5).add(m2.mul(0.5)); // from 0: 0.5·(0.5·0 + 0.5·m1) + 0.5·m2
        assertTrue(expected.equalsWithEps(l.getParam(NormParamInitializer.MEAN), 1e-12), "running mean " + l.getParam("mean"));
    }
}
