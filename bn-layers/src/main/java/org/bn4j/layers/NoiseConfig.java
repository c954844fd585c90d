package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.rng.Random;
import org.nd4j.linalg.factory.Nd4j;

import java.io.Serializable;

/**
 * The activation noise of Santurkar, Tsipras, Ilyas, Madry (2018), Appendix A, Algorithm 1: at every
 * training step t, per unit (feature) j
 * <pre>
 *   μ_j ~ U(−nMu, nMu),   σ_j ~ U(1, nSigma)
 * </pre>
 * and per sample i (for CNN and RNN input every position counts as a sample) and unit j
 * <pre>
 *   m_ij ~ U(μ_j − rMu, μ_j + rMu),   s_ij ~ N(σ_j, rSigma²),   y_ij ← s_ij · y_ij + m_ij.
 * </pre>
 * Defaults are the paper's: nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1. The stream is reproducible: the noise of
 * one step is a function of {@code seed}, the layer's index and the step (iteration and epoch), so the same step
 * gives the same noise (as a gradient check needs) and a run can be repeated from its seed.
 * {@link #none()} (all zero spread, σ = 1) is the identity.
 */
@Getter
@EqualsAndHashCode
@ToString
public final class NoiseConfig implements Serializable {
    private double nMu;
    private double nSigma;
    private double rMu;
    private double rSigma;
    private long seed;

    /** For JSON. */
    private NoiseConfig() {
        this(0.5, 1.25, 0.1, 0.1, 0);
    }

    private NoiseConfig(double nMu, double nSigma, double rMu, double rSigma, long seed) {
        if (!(nMu >= 0) || !(nSigma >= 1) || !(rMu >= 0) || !(rSigma >= 0)) {
            throw new IllegalArgumentException("noise: expected nMu >= 0, nSigma >= 1, rMu >= 0, rSigma >= 0; got nMu="
                    + nMu + ", nSigma=" + nSigma + ", rMu=" + rMu + ", rSigma=" + rSigma);
        }
        this.nMu = nMu;
        this.nSigma = nSigma;
        this.rMu = rMu;
        this.rSigma = rSigma;
        this.seed = seed;
    }

    /** The paper's values (nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1), seed 0. */
    public static NoiseConfig santurkar() {
        return new NoiseConfig();
    }

    public static NoiseConfig of(double nMu, double nSigma, double rMu, double rSigma, long seed) {
        return new NoiseConfig(nMu, nSigma, rMu, rSigma, seed);
    }

    /** No noise at all: s = 1, m = 0. */
    public static NoiseConfig none() {
        return new NoiseConfig(0, 1, 0, 0, 0);
    }

    public NoiseConfig withSeed(long seed) {
        return new NoiseConfig(nMu, nSigma, rMu, rSigma, seed);
    }

    /**
     * The noise {s, m} for a 4-D view [N, P, C, Q] (C the units).
     *
     * @param stream identifies layer and step; mixed with the seed
     */
    public INDArray[] draw(long[] view, DataType dt, long stream) {
        long[] unit = {1, 1, view[2], 1};
        try (Random rng = Nd4j.getRandomFactory().getNewRandomInstance(mix(seed, stream))) {
            INDArray mu = Nd4j.rand(Nd4j.createUninitialized(dt, unit), rng).muli(2 * nMu).subi(nMu);
            INDArray sigma = Nd4j.rand(Nd4j.createUninitialized(dt, unit), rng).muli(nSigma - 1).addi(1);
            INDArray m = Nd4j.rand(Nd4j.createUninitialized(dt, view), rng).muli(2 * rMu).subi(rMu).addi(mu);
            INDArray s = Nd4j.randn(Nd4j.createUninitialized(dt, view), rng).muli(rSigma).addi(sigma);
            return new INDArray[]{s, m};
        } catch (Exception e) {
            throw new IllegalStateException("noise: random generator failed", e);
        }
    }

    /**
     * SplitMix64 of seed and stream; never 0 in practice (ND4J's native generator does not reproduce with seed
     * 0, which seed 0 at step 0 of layer 0 would otherwise give).
     */
    private static long mix(long seed, long stream) {
        long z = (seed + 1) * 0x9E3779B97F4A7C15L + stream * 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
