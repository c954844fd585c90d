package org.bn4j.core;

/**
 * What the normalization core computes, independent of where the statistics are taken ({@link Layout}).
 *
 * @param statistic the scale statistic, or null for no normalization at all (x̂ = x: the noise-only layer)
 * @param affine    learnable per-feature gain γ and bias β
 * @param eps       added to the variance equivalent before the square root
 * @param noise     where the multiplicative/additive noise of Santurkar et al. (2018) is applied
 */
public record NormSpec(Statistic statistic, boolean affine, double eps, Noise noise) {

    /** Placement of the noise {@code s ⊙ · + m}, relative to the affine map. */
    public enum Noise {
        NONE, BEFORE_AFFINE, AFTER_AFFINE
    }

    public NormSpec {
        if (noise == null) noise = Noise.NONE;
        if (statistic != null && !(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
    }

    public boolean normalizes() {
        return statistic != null;
    }

    public boolean noisy() {
        return noise != Noise.NONE;
    }
}
