package org.bn4j.layers;

import org.bn4j.check.CheckNets;
import org.bn4j.check.Exact;
import org.bn4j.check.InputKind;
import org.bn4j.check.Size;
import org.bn4j.core.NoiseStream;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Santurkar et al.'s noise: reproducible from the seed, new at every step, absent at inference, with Algorithm 1's law. */
class NoiseTest {
    static final Size S = new Size(8, 3, 4);

    @BeforeAll
    static void doublePrecision() {
        Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    }

    private static INDArray trainingOutput(long seed, INDArray x, int iteration) {
        Layer l = CheckNets.alone(() -> new NoisyBatchNorm.Builder().noise(NoiseConfig.santurkar().withSeed(seed)).build(),
                InputKind.CNN_NCHW, S, DataType.DOUBLE).getLayer(0);
        l.setIterationCount(iteration);
        l.setInput(x, LayerWorkspaceMgr.noWorkspaces());
        return l.activate(true, LayerWorkspaceMgr.noWorkspaces()).dup();
    }

    @Test
    void reproducibleFromTheSeedAndNewAtEveryStep() {
        INDArray x = CheckNets.input(InputKind.CNN_NCHW, S, 8, 1);
        Exact.assertSame(trainingOutput(7, x, 0), trainingOutput(7, x, 0), "same seed, same step");
        assertFalse(Exact.same(trainingOutput(7, x, 0), trainingOutput(8, x, 0)), "another seed gave the same noise");
        assertFalse(Exact.same(trainingOutput(7, x, 0), trainingOutput(7, x, 1)), "the noise did not change with the step");
    }

    @Test
    void inferenceHasNoNoise() {
        INDArray x = CheckNets.input(InputKind.CNN_NCHW, S, 8, 2);
        Layer noisy = CheckNets.alone(() -> new NoisyBatchNorm.Builder().build(), InputKind.CNN_NCHW, S, DataType.DOUBLE).getLayer(0);
        Layer bn = CheckNets.alone(() -> new BatchNorm.Builder().build(), InputKind.CNN_NCHW, S, DataType.DOUBLE).getLayer(0);
        Nd4j.getRandom().setSeed(3);
        noisy.setParams(Nd4j.rand(DataType.DOUBLE, noisy.params().shape()).addi(0.5));
        bn.setParams(noisy.params());
        for (Layer l : new Layer[]{noisy, bn}) l.setInput(x, LayerWorkspaceMgr.noWorkspaces());
        Exact.assertSame(bn.activate(false, LayerWorkspaceMgr.noWorkspaces()), noisy.activate(false, LayerWorkspaceMgr.noWorkspaces()),
                "noisy batch norm's inference is batch norm's");
        Layer only = CheckNets.alone(() -> new NoiseInjection.Builder().build(), InputKind.CNN_NCHW, S, DataType.DOUBLE).getLayer(0);
        only.setInput(x, LayerWorkspaceMgr.noWorkspaces());
        Exact.assertSame(x, only.activate(false, LayerWorkspaceMgr.noWorkspaces()), "noise only is the identity at inference");
    }

    /**
     * Algorithm 1: per unit μ_j ~ U(−nMu, nMu) and σ_j ~ U(1, nSigma); per sample m ~ U(μ_j ± rMu), s ~ N(σ_j, rSigma²).
     * With 400 units the per-unit laws show (so a draw without a per-unit shift or scale fails).
     */
    @Test
    void noiseFollowsAlgorithmOne() {
        int units = 400, samples = 2000;
        NoiseConfig cfg = NoiseConfig.of(0.5, 1.5, 0.1, 0.1, 3);
        INDArray[] sm = cfg.draw(new long[]{samples, 1, units, 1}, DataType.DOUBLE, 0);
        INDArray s = sm[0].reshape(samples, units), m = sm[1].reshape(samples, units);
        INDArray sigma = s.mean(0), mu = m.mean(0);
        // unit means: σ_j uniform on [1, 1.5] (mean 1.25, sd 0.5/√12), μ_j uniform on [−0.5, 0.5] (mean 0, sd 1/√12)
        assertEquals(1.25, sigma.meanNumber().doubleValue(), 0.02, "mean of σ_j");
        assertEquals(0.5 / Math.sqrt(12), sigma.stdNumber().doubleValue(), 0.02, "spread of σ_j over units");
        assertEquals(0.0, mu.meanNumber().doubleValue(), 0.05, "mean of μ_j");
        assertEquals(1 / Math.sqrt(12), mu.stdNumber().doubleValue(), 0.03, "spread of μ_j over units");
        assertTrue(sigma.minNumber().doubleValue() > 1 - 0.01 && sigma.maxNumber().doubleValue() < 1.5 + 0.01, "σ_j within [1, 1.5]");
        // within a unit: s has sd rSigma, m is uniform of half-width rMu (sd 0.2/√12)
        assertEquals(0.1, s.subRowVector(sigma).std(0).meanNumber().doubleValue(), 0.005, "r_sigma");
        assertEquals(0.2 / Math.sqrt(12), m.subRowVector(mu).std(0).meanNumber().doubleValue(), 0.005, "r_mu");
    }

    /**
     * The stream is the one {@link NoiseConfig#draw} documents: per unit μ_j and σ_j from a generator seeded by
     * mix(seed, stream), then element i from value i of the {@link NoiseStream} with key mix(mix(seed, stream), 1) (in
     * float64: μ_j and σ_j exactly, the uniform and normal values from the stream itself; {@code NoiseStreamTest}
     * checks those against their definition), rounded once to the array's type. Over several tasks of the parallel
     * draw, with the unit changing along the 4-D view, in float64, float32 and float16.
     */
    @Test
    void streamIsTheDocumentedOne() {
        NoiseConfig cfg = NoiseConfig.of(0.5, 1.5, 0.1, 0.2, 11);
        // 105,000 elements: the unit changing every 1,000 elements (CNN-like), and every element (dense)
        for (long[] view : new long[][]{{5, 3, 7, 1000}, {15_000, 1, 7, 1}}) {
            long root = mix(11, 42);
            SplittableRandom unitRng = new SplittableRandom(root);
            double[] mu = new double[7], sigma = new double[7];
            for (int j = 0; j < 7; j++) mu[j] = 0.5 * (2 * unitRng.nextDouble() - 1);
            for (int j = 0; j < 7; j++) sigma[j] = 1 + 0.5 * unitRng.nextDouble();
            double[] z = new double[105_000], u = new double[105_000];
            NoiseStream.fill(mix(root, 1), 0, z.length, z, u);
            double[] s = new double[z.length], m = new double[z.length];
            for (int i = 0; i < s.length; i++) {
                int j = (int) ((i / view[3]) % 7);
                m[i] = mu[j] + 0.1 * (2 * u[i] - 1);
                s[i] = sigma[j] + 0.2 * z[i];
            }
            for (DataType dt : new DataType[]{DataType.DOUBLE, DataType.FLOAT, DataType.HALF}) {
                INDArray[] sm = cfg.draw(view, dt, 42);
                String what = dt + ", view " + Arrays.toString(view);
                Exact.assertSame(Nd4j.createFromArray(s).castTo(dt).reshape(view), sm[0], what + ": s");
                Exact.assertSame(Nd4j.createFromArray(m).castTo(dt).reshape(view), sm[1], what + ": m");
            }
        }
    }

    /** SplitMix64 of seed and stream, as {@link NoiseConfig} mixes them. */
    private static long mix(long seed, long stream) {
        long z = (seed + 1) * 0x9E3779B97F4A7C15L + stream * 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
