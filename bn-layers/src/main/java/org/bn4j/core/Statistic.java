package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The scale statistic of a normalization, as a "variance equivalent" {@code v} of the centred input
 * {@code u = x - mean}: the normalizer is always {@code d = sqrt(v + eps)}, so every statistic shares the
 * running-statistics rule and the inference path of batch norm.
 *
 * <ul>
 *   <li>{@link #variance()}: {@code v = mean(u²)} (biased), Ioffe–Szegedy batch norm.</li>
 *   <li>{@link #lp(double, boolean)}: {@code v = (C_p^p · mean|u|^p)^(2/p)}; with the Gaussian-consistency
 *       constant {@code C_p = (2^(p/2) Γ((p+1)/2) / √π)^(−1/p)} it estimates the variance of Gaussian data;
 *       {@code p = 2} is exactly {@link #variance()}.</li>
 *   <li>{@link #topK(int, boolean)}: {@code v = (C · T)²} with {@code T} the mean of the k largest
 *       {@code |u|} of the group (k = 1: the L∞ norm) and {@code C = 0.5·(1 + √(π·ln 4)) / √(2·ln m)}
 *       (Hoffer et al. 2018) or 1.</li>
 * </ul>
 * Each statistic also gives {@code ∂v/∂u}, which the hand-written backward graph of {@link NormCore} uses, and may
 * name one per-group value of its forward ({@link #state()}) that the backward reads instead of computing it again.
 */
public abstract class Statistic {

    public static Statistic variance() {
        return Variance.INSTANCE;
    }

    /** ℓp statistic, p ≥ 1 finite; {@code gaussianConstant} multiplies by C_p (see the class Javadoc). */
    public static Statistic lp(double p, boolean gaussianConstant) {
        if (!(p >= 1) || Double.isInfinite(p)) throw new IllegalArgumentException("p must be finite and >= 1, got " + p);
        return p == 2 ? Variance.INSTANCE : new Lp(p, gaussianConstant ? lpConstant(p) : 1.0);
    }

    /** Mean of the k largest absolute deviations (k = 1: the L∞ statistic). */
    public static Statistic topK(int k, boolean gaussianConstant) {
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        return new TopK(k, gaussianConstant);
    }

    /**
     * The variance equivalent {@code v} per group (keepDims shape).
     *
     * @param u     the centred input, masked elements multiplied by their (zero) weight
     * @param count number of (unmasked) elements per group, keepDims shape or scalar
     */
    abstract SDVariable v(SameDiff sd, Reductions red, SDVariable u, SDVariable count);

    /**
     * {@code ∂v/∂u} elementwise, given the forward's {@code v} and {@link #state()} (keepDims shape, null if the
     * statistic has none); the caller multiplies by the mask weights.
     */
    abstract SDVariable dvdu(SameDiff sd, SDVariable u, SDVariable v, SDVariable count, SDVariable state);

    /**
     * The name under which {@link #v} leaves a per-group value (keepDims shape) for {@link #dvdu}: an output of
     * the forward graph and an input of the backward, kept between them like the mean and v. Null if none.
     */
    String state() {
        return null;
    }

    /** True if {@code Σ_group w·∂v/∂u = 0} for centred u, so the backward may skip that sum. */
    boolean dvduSumsToZero() {
        return false;
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

    /** v = mean(u²). */
    static final class Variance extends Statistic {
        static final Variance INSTANCE = new Variance();

        @Override
        SDVariable v(SameDiff sd, Reductions red, SDVariable u, SDVariable count) {
            return red.sum(u.mul(u)).div(count);
        }

        @Override
        SDVariable dvdu(SameDiff sd, SDVariable u, SDVariable v, SDVariable count, SDVariable state) {
            return u.mul(count.rdiv(2.0));
        }

        @Override
        boolean dvduSumsToZero() {
            return true;
        }
    }

    /** v = C² · M^(2/p), M = mean|u|^p. */
    static final class Lp extends Statistic {
        final double p;
        final double c;

        Lp(double p, double c) {
            this.p = p;
            this.c = c;
        }

        @Override
        SDVariable v(SameDiff sd, Reductions red, SDVariable u, SDVariable count) {
            SDVariable m = red.sum(p == 1 ? sd.math.abs(u) : sd.math.pow(sd.math.abs(u), p)).div(count);
            return sd.math.pow(m, 2 / p).mul(c * c);
        }

        @Override
        SDVariable dvdu(SameDiff sd, SDVariable u, SDVariable v, SDVariable count, SDVariable state) {
            // v = c² M^(2/p)  =>  dv/du_i = (2 c² / count) M^(2/p - 1) |u_i|^(p-1) sign(u_i),  M^(2/p-1) = (v/c²)^(1-p/2)
            SDVariable coef = sd.math.pow(v.div(c * c), 1 - p / 2).mul(2 * c * c).div(count);
            SDVariable shape = p == 1 ? sd.math.sign(u) : sd.math.pow(sd.math.abs(u), p - 1).mul(sd.math.sign(u));
            return shape.mul(coef);
        }
    }

    /**
     * v = (C·T)², T = mean of the k largest |u| per group. The forward leaves the k-th largest |u| (the threshold
     * τ; for k = 1 the maximum, T itself) as {@link #state()}, so the backward selects without a second top-k.
     */
    static final class TopK extends Statistic {
        /** Name of the threshold τ, the k-th largest |u| of each group. */
        static final String THRESHOLD = "topkThreshold";
        final int k;
        final boolean gaussianConstant;

        TopK(int k, boolean gaussianConstant) {
            this.k = k;
            this.gaussianConstant = gaussianConstant;
        }

        private SDVariable constant(SameDiff sd, SDVariable count) {
            if (!gaussianConstant) return null;
            // C(m) = 0.5 (1 + sqrt(pi ln 4)) / sqrt(2 ln m)
            return sd.math.rsqrt(sd.math.log(count).mul(2.0)).mul(0.5 * (1 + Math.sqrt(Math.PI * Math.log(4))));
        }

        @Override
        String state() {
            return THRESHOLD;
        }

        @Override
        SDVariable v(SameDiff sd, Reductions red, SDVariable u, SDVariable count) {
            SDVariable absU = sd.math.abs(u);
            SDVariable t, threshold;
            if (k == 1) {
                // the largest |u| is both the mean of the top 1 and the threshold (a maximum, much faster than top-k)
                t = red.max(absU);
                threshold = t;
            } else {
                SDVariable values = red.topK(absU, k)[0];
                t = red.fromGroups(values.mean(true, 1));
                threshold = red.fromGroups(values.min(true, 1));
            }
            threshold.rename(THRESHOLD);
            SDVariable c = constant(sd, count);
            SDVariable ct = c == null ? t : t.mul(c);
            return ct.mul(ct);
        }

        @Override
        SDVariable dvdu(SameDiff sd, SDVariable u, SDVariable v, SDVariable count, SDVariable threshold) {
            // v = c² T²  =>  dv/du_i = 2 c² T / k · sign(u_i) · [|u_i| >= τ],  with c T = sqrt(v)
            SDVariable c = constant(sd, count);
            SDVariable ct = sd.math.sqrt(v);
            SDVariable coef = (c == null ? ct : ct.mul(c)).mul(2.0 / k);
            if (k > 1) {
                SDVariable selected = sd.math.abs(u).gte(threshold).castTo(u.dataType());
                return sd.math.sign(u).mul(selected).mul(coef);
            }
            // k = 1: every |u_i| <= τ, so r = u/τ lies in [-1, 1] and is ±1 exactly where |u_i| = τ. step(r², cut) is 1
            // there and 0 elsewhere; times r it is sign(u_i)·[|u_i| = τ]. Four passes of plain arithmetic, where abs,
            // a comparison, a cast and sign were six. The cut leaves a few ulps of room, and τ is kept from 0 (a
            // constant group: u = 0, dv/du = 0).
            double ulp = u.dataType() == DataType.DOUBLE ? Math.ulp(1.0) : Math.ulp(1.0f);
            double tiny = u.dataType() == DataType.DOUBLE ? Double.MIN_NORMAL : Float.MIN_NORMAL;
            SDVariable r = u.div(sd.scalarMax(threshold, tiny));
            return sd.math.step(r.mul(r), 1 - 4 * ulp).mul(r).mul(coef);
        }
    }
}
