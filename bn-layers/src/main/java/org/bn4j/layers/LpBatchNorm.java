package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Statistic;

/**
 * Lp batch normalization: batch norm with the scale taken from the p-th absolute central moment instead of the
 * variance (Hoffer et al. 2018, "Norm matters"; Santurkar et al. 2018 §3.3).
 *
 * <p>Per feature over the reduction set R (as in {@link BatchNorm}), u = x − μ:
 * <pre>
 *   p finite:     v = (C_p^p · (1/m) Σ |u|^p)^(2/p),   C_p = (2^(p/2) Γ((p+1)/2) / √π)^(−1/p)
 *   p = ∞ (top-k): v = (C(m) · T)²,  T = mean of the k largest |u|,  C(m) = 0.5 (1 + √(π ln 4)) / √(2 ln m)
 *   x̂ = u / sqrt(v + ε),   y = γ x̂ + β
 * </pre>
 * v is a "variance equivalent": with the Gaussian-consistency constant (on by default) it estimates σ² on
 * Gaussian data, and p = 2 is exactly {@link BatchNorm}. {@code gaussianConstant(false)} uses C = 1, the plain
 * average ℓp norm of Santurkar et al. §3.3. C_1 = √(π/2) (L1 batch norm). For top-k the constant is
 * Hoffer et al.'s code's C(m), the Gaussian-consistency constant of the maximum (k = 1); for k &gt; 1 it is
 * an approximation.
 *
 * <p>Running statistics and inference are those of {@link BatchNorm}, applied to v:
 * {@code var ← decay·var + (1 − decay)·v·m/(m − 1)}, inference {@code y = γ (x − mean)/sqrt(var + ε) + β}.
 * (SPEC §2 writes the normalizer as C_p s_p + ε′ and averages the scale C_p s_p; bn4j adds ε inside the square
 * root and averages its square, so that every variant shares batch norm's running statistics and inference.)
 *
 * <p>Gradient: the complete one through μ and v, with ∂v/∂u = (2C²/m) M^(2/p−1) |u|^(p−1) sign(u) (top-k:
 * 2C²T/k · sign(u) on the k largest). |u|^p and top-k are piecewise smooth: the gradient is undefined at u = 0
 * for p = 1 and at ties of the k-th largest value.
 *
 * <p>Defaults: p = 1, gaussianConstant true, k = 1 (used when p = ∞), plus {@link BatchNorm}'s.
 * Training needs at least max(2, k) values per feature.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class LpBatchNorm extends BatchNorm {
    /** The order p ≥ 1, or {@code Double.POSITIVE_INFINITY} for the top-k statistic. */
    protected double p;
    /** k of the top-k statistic (p = ∞). */
    protected int k;
    /** Multiply by the Gaussian-consistency constant. */
    protected boolean gaussianConstant;

    protected LpBatchNorm(Builder b) {
        super(b);
        if (!(b.p >= 1)) {
            throw new IllegalArgumentException("LpBatchNorm: p must be >= 1 (or infinity for top-k), got " + b.p);
        }
        if (b.k < 1) throw new IllegalArgumentException("LpBatchNorm: k must be >= 1, got " + b.k);
        this.p = b.p;
        this.k = b.k;
        this.gaussianConstant = b.gaussianConstant;
    }

    /** For JSON. */
    public LpBatchNorm() {
        this(new Builder());
    }

    @Override
    protected Statistic statistic() {
        return Double.isInfinite(p) ? Statistic.topK(k, gaussianConstant) : Statistic.lp(p, gaussianConstant);
    }

    @Override
    public long minGroupSize() {
        return Double.isInfinite(p) ? Math.max(2, k) : 2;
    }

    public static class Builder extends BaseBuilder<Builder> {
        protected double p = 1;
        protected int k = 1;
        protected boolean gaussianConstant = true;

        /** The order p ≥ 1 (default 1); {@code Double.POSITIVE_INFINITY} selects the top-k statistic. */
        public Builder p(double p) {
            this.p = p;
            return this;
        }

        /** The top-k statistic with this k ≥ 1 (sets p = ∞; k = 1 is the L∞ norm). */
        public Builder topK(int k) {
            this.p = Double.POSITIVE_INFINITY;
            this.k = k;
            return this;
        }

        /** Multiply by the Gaussian-consistency constant (default true). */
        public Builder gaussianConstant(boolean on) {
            this.gaussianConstant = on;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public LpBatchNorm build() {
            return new LpBatchNorm(this);
        }
    }
}
