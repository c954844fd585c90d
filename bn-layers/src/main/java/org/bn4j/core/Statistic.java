package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

import org.nd4j.shade.jackson.annotation.JsonAutoDetect;

import java.io.Serializable;
import java.util.Objects;

/**
 * The scale statistic of a normalization, a value chosen on a layer's builder and saved with its configuration.
 * It is given as a "variance equivalent" {@code v} of the centred input {@code u = x − μ} (of {@code x} itself for
 * layers that do not centre): the normalizer is always {@code d = sqrt(v + ε)}, so every statistic shares the
 * running-statistics rule and the inference map of batch norm.
 *
 * <ul>
 *   <li>{@link #variance()}: {@code v = mean(u²)} (biased), Ioffe–Szegedy batch norm; without centring the mean
 *       square of RMS norm.</li>
 *   <li>{@link #lp(double, boolean)}: {@code v = (C_p^p · mean|u|^p)^(2/p)}; with the Gaussian-consistency
 *       constant {@code C_p = (2^(p/2) Γ((p+1)/2) / √π)^(−1/p)} it estimates the variance of Gaussian data.
 *       {@code lp(2, ·)} is {@link #variance()} (the same function, computed as the variance).</li>
 *   <li>{@link #topK(int, boolean)}: {@code v = (C · T)²} with {@code T} the mean of the k largest {@code |u|} of
 *       the group (k = 1: the L∞ norm) and {@code C = 0.5·(1 + √(π·ln 4)) / √(2·ln m)} (Hoffer et al. 2018) or 1.
 *       With a mask, a group with fewer than k values averages all of them.</li>
 * </ul>
 * Each statistic also gives {@code ∂v/∂u} for the hand-written backward graph of {@link NormCore}, and may leave one
 * per-group value of its forward ({@link #state()}) that the backward reads instead of computing it again.
 * User guide: {@code docs/lp-batch-norm.md}.
 */
@JsonAutoDetect(fieldVisibility = JsonAutoDetect.Visibility.ANY, getterVisibility = JsonAutoDetect.Visibility.NONE,
        isGetterVisibility = JsonAutoDetect.Visibility.NONE)
public final class Statistic implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The kinds of statistic. */
    public enum Kind { VARIANCE, LP, TOP_K }

    /** Name of the top-k threshold τ (the k-th largest |u| of each group), the top-k statistic's forward state. */
    static final String THRESHOLD = "topkThreshold";

    private Kind kind;
    private double p;
    private int k;
    private boolean gaussianConstant;

    /** For JSON. */
    private Statistic() {
        this(Kind.VARIANCE, 2, 0, false);
    }

    private Statistic(Kind kind, double p, int k, boolean gaussianConstant) {
        this.kind = kind;
        this.p = p;
        this.k = k;
        this.gaussianConstant = gaussianConstant;
    }

    /** The biased variance {@code mean(u²)}. */
    public static Statistic variance() {
        return new Statistic();
    }

    /** The ℓp statistic with the Gaussian-consistency constant, p ≥ 1 finite. */
    public static Statistic lp(double p) {
        return lp(p, true);
    }

    /** The ℓp statistic, p ≥ 1 finite; {@code gaussianConstant} multiplies by C_p. p = 2 is {@link #variance()}. */
    public static Statistic lp(double p, boolean gaussianConstant) {
        if (!(p >= 1) || Double.isInfinite(p)) {
            throw new IllegalArgumentException("statistic: p must be finite and >= 1 (top-k for p = infinity), got " + p);
        }
        return p == 2 ? variance() : new Statistic(Kind.LP, p, 0, gaussianConstant);
    }

    /** The general ℓp formula even at p = 2 (where {@link #lp} returns the variance): for equivalence tests. */
    static Statistic lpFormula(double p, boolean gaussianConstant) {
        return new Statistic(Kind.LP, p, 0, gaussianConstant);
    }

    /** The mean of the k largest absolute deviations with the Gaussian-consistency constant (k = 1: L∞). */
    public static Statistic topK(int k) {
        return topK(k, true);
    }

    /** The mean of the k largest absolute deviations, k ≥ 1 (k = 1: the L∞ statistic). */
    public static Statistic topK(int k, boolean gaussianConstant) {
        if (k < 1) throw new IllegalArgumentException("statistic: k must be >= 1, got " + k);
        return new Statistic(Kind.TOP_K, Double.POSITIVE_INFINITY, k, gaussianConstant);
    }

    public Kind kind() {
        return kind;
    }

    /** p of the ℓp statistic (2 for the variance, infinity for top-k). */
    public double p() {
        return p;
    }

    /** k of the top-k statistic (0 otherwise). */
    public int k() {
        return k;
    }

    public boolean gaussianConstant() {
        return gaussianConstant;
    }

    /** Fewest values a group needs for the statistic to be defined with centring: 2, or k for top-k. */
    public int minCount() {
        return kind == Kind.TOP_K ? Math.max(2, k) : 2;
    }

    /**
     * The variance equivalent {@code v} per group (keepDims shape).
     *
     * @param u     the (centred) input, masked elements multiplied by their (zero) weight
     * @param count number of (unmasked) elements per group, keepDims shape or scalar
     */
    SDVariable v(SameDiff sd, Reductions red, SDVariable u, SDVariable count, boolean masked) {
        switch (kind) {
            case VARIANCE:
                return red.sum(u.mul(u)).div(count);
            case LP: {
                SDVariable m = red.sum(p == 1 ? sd.math.abs(u) : sd.math.pow(sd.math.abs(u), p)).div(count);
                double c = gaussianConstant ? lpConstant(p) : 1;
                return sd.math.pow(m, 2 / p).mul(c * c);
            }
            default: {
                SDVariable absU = sd.math.abs(u);
                SDVariable t, threshold;
                if (k == 1) {
                    // the largest |u| is both the mean of the top 1 and the threshold (a maximum, much faster than top-k)
                    t = red.max(absU);
                    threshold = t;
                } else {
                    // k rounds of a maximum, each taking all the values equal to it (as many as still needed): the k largest
                    // with their ties (ND4J's top_k in 1.0.0-M2.1 returns wrong values when the largest ones tie)
                    DataType dt = u.dataType();
                    SDVariable rest = absU, sum = null, taken = null, tau = null;
                    for (int r = 0; r < k; r++) {
                        SDVariable mx = red.max(rest);
                        SDVariable isMax = rest.gte(mx).castTo(dt);
                        SDVariable need = taken == null ? null : taken.rsub((double) k);
                        SDVariable take = need == null ? sd.math.min(red.sum(isMax), scalar(sd, k, dt))
                                : sd.math.min(red.sum(isMax), need);
                        sum = sum == null ? take.mul(mx) : sum.add(take.mul(mx));
                        // τ: the maximum of the round in which the k-th value was taken
                        SDVariable active = need == null ? null : sd.math.step(need, 0.5);
                        tau = tau == null ? mx : mx.mul(active).add(tau.mul(active.rsub(1.0))); // exact: a weight of 0 or 1
                        taken = taken == null ? take : taken.add(take);
                        if (r + 1 < k) rest = rest.sub(isMax.mul(mx.mul(2.0).add(1.0))); // taken values below every other
                    }
                    threshold = tau;
                    // with a mask a group may hold fewer than k values: the masked zeros fill its top k, so the sum is that of all of them
                    t = masked ? sum.div(sd.math.min(count, scalar(sd, k, count.dataType()))) : sum.div(k);
                }
                threshold.rename(THRESHOLD);
                SDVariable ct = gaussianConstant ? t.mul(topKConstant(sd, count)) : t;
                return ct.mul(ct);
            }
        }
    }

    /**
     * Values of a group whose {@code |u|} lies within {@code TIE_ULPS · ulp · (|μ| + τ)} of the top-k threshold τ
     * count as tied at τ ({@code ulp} of 1 in the compute type, μ the group's mean, 0 without centring). The margin
     * covers the rounding of the computed u = x − μ̃: the two values of a group of two have |u_1| = |u_2| exactly, but
     * their computed values differ by up to about {@code ulp · (|μ| + τ)} (the rounding of the mean and of the
     * subtractions).
     */
    static final double TIE_ULPS = 4;

    /**
     * {@code ∂v/∂u} elementwise, given the forward's {@code v} and {@link #state()} (keepDims shape, null if the
     * statistic has none); the caller multiplies by the mask weights. Finite for constant groups (u = 0, v = 0).
     *
     * <p>Top-k gives the symmetric subgradient at ties: with τ the k-th largest {@code |u|} of the group and k' the
     * number of values T averages (k, or min(count, k) with a mask), {@code ∂v/∂u_i = 2C²T/k' · sign(u_i) · a_i}
     * where a_i = 1 for {@code |u_i|} above τ, a_i = (k' − n_above)/n_at for each of the n_at (unmasked) values tied
     * at τ ({@link #TIE_ULPS}), and 0 below. Without ties this is the derivative; a group of two under top-1
     * (T = |x_1 − x_2|/2) gets weight 1/2 for each value, its true derivative. User guide: {@code docs/lp-batch-norm.md}.
     *
     * @param red   the group reductions of the graph (the tie counts are sums over a group)
     * @param u     the (centred) input, masked elements multiplied by their (zero) weight
     * @param w     the mask weights (null without a mask)
     * @param mean  the group means (null without centring)
     */
    SDVariable dvdu(SameDiff sd, Reductions red, SDVariable u, SDVariable w, SDVariable mean, SDVariable v,
                    SDVariable count, SDVariable threshold) {
        boolean masked = w != null;
        switch (kind) {
            case VARIANCE:
                return u.mul(count.rdiv(2.0));
            case LP: {
                // v = c² M^(2/p)  =>  dv/du_i = (2 c² / count) M^(2/p - 1) |u_i|^(p-1) sign(u_i),  M^(2/p-1) = (v/c²)^(1-p/2).
                // For p > 2 the power is of a negative exponent: at a constant group (v = 0, u = 0) it is kept finite
                // (M at least the smallest normal number, the coefficient at most the largest finite value) so that
                // it meets |u|^(p-1) = 0 as 0, the limit of the derivative, instead of ∞·0 = NaN.
                double c = gaussianConstant ? lpConstant(p) : 1;
                SDVariable ratio = v.div(c * c);
                if (p > 2) ratio = sd.scalarMax(ratio, tiny(u.dataType()));
                SDVariable coef = sd.math.pow(ratio, 1 - p / 2).mul(2 * c * c).div(count);
                if (p > 2) coef = sd.scalarMin(coef, huge(u.dataType()));
                SDVariable shape = p == 1 ? sd.math.sign(u) : sd.math.pow(sd.math.abs(u), p - 1).mul(sd.math.sign(u));
                return shape.mul(coef);
            }
            default: {
                // v = c² T²  =>  dv/du_i = 2 c² T / k' · sign(u_i) · a_i,  with c T = sqrt(v), k' the values averaged and
                // a_i the share of value i in the selection: 1 above τ, (k' − n_above) / n_at at τ (ties), 0 below
                DataType dt = u.dataType();
                SDVariable ct = sd.math.sqrt(v);
                SDVariable coef = gaussianConstant ? ct.mul(topKConstant(sd, count)) : ct;
                SDVariable kk = k == 1 ? null : masked ? sd.math.min(count, scalar(sd, k, count.dataType())) : scalar(sd, k, dt);
                coef = k == 1 ? coef.mul(2.0) : masked ? coef.mul(2.0).div(kk) : coef.mul(2.0 / k);
                SDVariable absU = sd.math.abs(u);
                // the tie margin h = TIE_ULPS·ulp·(|μ| + τ); a constant group (τ = 0, u = 0) ties entirely, with sign(u) = 0
                SDVariable h = (mean == null ? threshold : sd.math.abs(mean).add(threshold)).mul(TIE_ULPS * ulp(dt));
                SDVariable at = absU.gte(threshold.sub(h)).castTo(dt);
                SDVariable above = null;
                if (k > 1) {
                    above = absU.gt(threshold.add(h)).castTo(dt);
                    at = at.sub(above);
                }
                if (masked) at = at.mul(w);    // masked values (u = 0) are never above τ + h, but may be within h of τ = 0
                // at least one value ties at τ (τ is one of them): the maximum with 1 only keeps a constant group from 0/0
                SDVariable nAt = sd.scalarMax(red.sum(at), 1.0);
                SDVariable share = k == 1 ? nAt.rdiv(1.0) : kk.sub(red.sum(above)).div(nAt);
                SDVariable weight = k == 1 ? at.mul(share) : at.mul(share).add(above);
                return sd.math.sign(u).mul(weight).mul(coef);
            }
        }
    }

    /** The name of the per-group value {@link #v} leaves for {@link #dvdu} (a forward output, a backward input), or null. */
    String state() {
        return kind == Kind.TOP_K ? THRESHOLD : null;
    }

    /** True if {@code Σ_group w·∂v/∂u = 0} for centred u, so the backward may skip that sum. */
    boolean dvduSumsToZero() {
        return kind == Kind.VARIANCE;
    }

    /**
     * C(m) = 0.5 (1 + sqrt(π ln 4)) / sqrt(2 ln m), the top-k constant of a group of m values. Groups of fewer than two
     * values (a mask) use C(2): their u is 0 and so is v, whatever the constant, but ln 1 = 0 would make it infinite.
     */
    private static SDVariable topKConstant(SameDiff sd, SDVariable count) {
        SDVariable m = sd.scalarMax(count, 2.0);
        return sd.math.rsqrt(sd.math.log(m).mul(2.0)).mul(0.5 * (1 + Math.sqrt(Math.PI * Math.log(4))));
    }

    private static SDVariable scalar(SameDiff sd, double value, DataType dt) {
        return sd.constant(org.nd4j.linalg.factory.Nd4j.scalar(dt, value));
    }

    /** One unit in the last place of 1 in a floating-point type of the graphs (float or double). */
    static double ulp(DataType dt) {
        if (dt == DataType.DOUBLE) return Math.ulp(1.0);
        if (dt == DataType.FLOAT) return Math.ulp(1.0f);
        throw new IllegalArgumentException("graphs compute in float or double, got " + dt);
    }

    /** The smallest positive normal number of the type. */
    static double tiny(DataType dt) {
        if (dt == DataType.DOUBLE) return Double.MIN_NORMAL;
        if (dt == DataType.FLOAT) return Float.MIN_NORMAL;
        throw new IllegalArgumentException("graphs compute in float or double, got " + dt);
    }

    /** The largest finite number of the type. */
    static double huge(DataType dt) {
        if (dt == DataType.DOUBLE) return Double.MAX_VALUE;
        if (dt == DataType.FLOAT) return Float.MAX_VALUE;
        throw new IllegalArgumentException("graphs compute in float or double, got " + dt);
    }

    /** Gaussian-consistency constant C_p of the ℓp statistic. */
    public static double lpConstant(double p) {
        double logEAbs = (p / 2) * Math.log(2) + logGamma((p + 1) / 2) - 0.5 * Math.log(Math.PI);
        return Math.exp(-logEAbs / p);
    }

    /** Lanczos approximation of ln Γ(x), x > 0 (relative error below 1e-14). */
    static double logGamma(double x) {
        final double[] c = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
                1.5056327351493116e-7};
        if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        x -= 1;
        double a = c[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) a += c[i] / (x + i);
        return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Statistic s && kind == s.kind && Double.compare(p, s.p) == 0 && k == s.k
                && gaussianConstant == s.gaussianConstant;
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, p, k, gaussianConstant);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case VARIANCE -> "variance";
            case LP -> "lp(p=" + p + (gaussianConstant ? "" : ", plain") + ")";
            case TOP_K -> "top-" + k + (gaussianConstant ? "" : "(plain)");
        };
    }
}
