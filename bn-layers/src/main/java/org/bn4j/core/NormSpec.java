package org.bn4j.core;

/**
 * What the normalization core computes, independent of where the statistics are taken ({@link Layout}): the
 * options a layer is a choice of.
 *
 * @param statistic the scale statistic, or null for no normalization at all (x̂ = x: the noise-only layer)
 * @param center    subtract the group mean before taking the statistic (false: RMS norm, x̂ = x/sqrt(v + ε))
 * @param scale     multiply by a per-feature gain γ (an input of the graphs, learned or fixed)
 * @param bias      add a per-feature bias β (an input of the graphs, learned or fixed)
 * @param eps       added to the variance equivalent before the square root
 * @param noise     where the multiplicative/additive noise of Santurkar et al. (2018) is applied
 * @param renorm    batch renormalization (Ioffe 2017): x̂ ← x̂·r + d with per-group corrections r, d computed from the
 *                  batch and running statistics and clipped, constants for the gradient
 * @param fallback  per statistics group, use the running statistics instead of the batch's where the group has fewer
 *                  than {@link #minCount()} values (masked layouts of layers with running statistics), and give the
 *                  gradient of that function there
 */
public record NormSpec(Statistic statistic, boolean center, boolean scale, boolean bias, double eps, Noise noise,
                       boolean renorm, boolean fallback) {

    /** Placement of the noise {@code s ⊙ · + m}, relative to the affine map. */
    public enum Noise {
        NONE, BEFORE_AFFINE, AFTER_AFFINE
    }

    public NormSpec {
        if (noise == null) noise = Noise.NONE;
        if (statistic != null && !(eps > 0)) throw new IllegalArgumentException("eps must be > 0, got " + eps);
        if (statistic == null && (renorm || fallback)) {
            throw new IllegalArgumentException("renormalization and running-statistics fallback need a statistic");
        }
    }

    /** The spec of batch norm: variance, centred, γ and β, no noise. */
    public static NormSpec batchNorm(double eps) {
        return new NormSpec(Statistic.variance(), true, true, true, eps, Noise.NONE, false, false);
    }

    public boolean normalizes() {
        return statistic != null;
    }

    public boolean noisy() {
        return noise != Noise.NONE;
    }

    /** True if the graphs take the running statistics (renormalization or the fallback). */
    public boolean readsRunningStats() {
        return renorm || fallback;
    }

    /**
     * Fewest values a statistics group needs in training: the statistic's ({@link Statistic#minCount()}) when the
     * mean is subtracted, 1 without centring (a mean square of one value is defined).
     */
    public int minCount() {
        return statistic == null ? 0 : center ? statistic.minCount() : Math.max(1, statistic.kind() == Statistic.Kind.TOP_K ? statistic.k() : 1);
    }

    public NormSpec withNoise(Noise n) {
        return new NormSpec(statistic, center, scale, bias, eps, n, renorm, fallback);
    }

    public NormSpec withFallback(boolean f) {
        return new NormSpec(statistic, center, scale, bias, eps, noise, renorm, f);
    }

    public NormSpec withRenorm(boolean r) {
        return new NormSpec(statistic, center, scale, bias, eps, noise, r, fallback);
    }
}
