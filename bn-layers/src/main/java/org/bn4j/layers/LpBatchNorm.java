package org.bn4j.layers;

import lombok.AccessLevel;
import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Statistic;
import org.nd4j.shade.jackson.annotation.JsonProperty;

/**
 * Lp batch normalization: batch norm with the scale taken from the p-th absolute central moment instead of the
 * variance (Hoffer et al. 2018, "Norm matters"; Santurkar et al. 2018 §3.3). It is {@link BatchNorm} with another
 * {@link Statistic}; any batch-norm option (ghost batches, noise) combines with it.
 *
 * <p>Per feature over the reduction set R (as in {@link BatchNorm}), u = x − μ:
 * <pre>
 *   p finite:      v = (C_p^p · (1/m) Σ |u|^p)^(2/p),   C_p = (2^(p/2) Γ((p+1)/2) / √π)^(−1/p)
 *   p = ∞ (top-k): v = (C(m) · T)²,  T = mean of the k largest |u|,  C(m) = 0.5 (1 + √(π ln 4)) / √(2 ln m)
 *   x̂ = u / sqrt(v + ε),   y = γ x̂ + β
 * </pre>
 * v is a "variance equivalent": with the Gaussian-consistency constant (on by default) it estimates σ² on Gaussian
 * data, and p = 2 is exactly {@link BatchNorm}. {@code gaussianConstant(false)} uses C = 1, the plain average ℓp norm
 * of Santurkar et al. §3.3. C_1 = √(π/2) (L1 batch norm). For top-k the constant is Hoffer et al.'s code's C(m), the
 * Gaussian-consistency constant of the maximum (k = 1); for k &gt; 1 it is an approximation.
 *
 * <p>Running statistics and inference are those of {@link BatchNorm}, applied to v:
 * {@code var ← decay·var + (1 − decay)·v·m/(m − 1)}, inference {@code y = γ (x − mean)/sqrt(var + ε) + β}. (The
 * normalizer is sqrt(v + ε), ε inside the square root, and the running average is of v, so that every variant shares
 * batch norm's running statistics and inference.)
 *
 * <p>Gradient: the complete one through μ and v, with ∂v/∂u = (2C²/m) M^(2/p−1) |u|^(p−1) sign(u) (top-k:
 * 2C²T/k · sign(u) on the k largest). |u|^p and top-k are piecewise smooth: the gradient is undefined at u = 0 for
 * p = 1 and at ties of the k-th largest value; on a constant feature it is 0.
 *
 * <p>Defaults: p = 1, Gaussian constant on (k = 1 when p = ∞), plus {@link BatchNorm}'s. Training needs at least
 * max(2, k) values per feature. User guide: {@code docs/lp-batch-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class LpBatchNorm extends BatchNorm {

    /** k read from JSON of format 1 (before p arrives), not part of the configuration. */
    @Getter(AccessLevel.NONE)
    @EqualsAndHashCode.Exclude
    @ToString.Exclude
    private transient int legacyK = 1;

    protected LpBatchNorm(Builder b) {
        super(b);
    }

    /** For JSON. */
    public LpBatchNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    /** The order p (infinity for top-k). */
    public double p() {
        return statistic.p();
    }

    // JSON of format 1 stored p, k and gaussianConstant instead of the statistic (read in alphabetical order)
    @JsonProperty("gaussianConstant")
    private void legacyGaussianConstant(boolean gc) {
        statistic = statistic.kind() == Statistic.Kind.TOP_K ? Statistic.topK(statistic.k(), gc)
                : Statistic.lp(statistic.p(), gc);
    }

    @JsonProperty("k")
    private void legacyK(int k) {
        legacyK = k;
    }

    @JsonProperty("p")
    private void legacyP(double p) {
        statistic = Double.isInfinite(p) ? Statistic.topK(legacyK, statistic.gaussianConstant())
                : Statistic.lp(p, statistic.gaussianConstant());
    }

    public static class Builder extends BaseBuilder<Builder> {
        private boolean gaussianConstant = true;

        public Builder() {
            statistic = Statistic.lp(1, true);
        }

        /** The order p ≥ 1 (default 1); {@code Double.POSITIVE_INFINITY} selects the top-k statistic with k = 1. */
        public Builder p(double p) {
            if (!(p >= 1)) throw new IllegalArgumentException("LpBatchNorm: p must be >= 1 (or infinity for top-k), got " + p);
            statistic = Double.isInfinite(p) ? Statistic.topK(1, gaussianConstant) : Statistic.lp(p, gaussianConstant);
            return this;
        }

        /** The top-k statistic with this k ≥ 1 (p = ∞; k = 1 is the L∞ norm). */
        public Builder topK(int k) {
            if (k < 1) throw new IllegalArgumentException("LpBatchNorm: k must be >= 1, got " + k);
            statistic = Statistic.topK(k, gaussianConstant);
            return this;
        }

        /** Multiply by the Gaussian-consistency constant (default true). */
        public Builder gaussianConstant(boolean on) {
            gaussianConstant = on;
            statistic = switch (statistic.kind()) {
                case TOP_K -> Statistic.topK(statistic.k(), on);
                case LP -> Statistic.lp(statistic.p(), on);
                case VARIANCE -> statistic;
            };
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public LpBatchNorm build() {
            return new LpBatchNorm(this);
        }
    }
}
