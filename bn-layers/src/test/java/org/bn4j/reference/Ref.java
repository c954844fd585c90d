package org.bn4j.reference;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Plain double-precision reference implementation of the bn4j normalization math (see
 * {@code SPEC.md}). It is the independent ground truth the library's tests compare the real layers
 * against: loops over {@code double[]} only, no ND4J, no SameDiff, no external libraries.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Tensors are row-major (c-order) {@code double[]} with an {@code int[]} shape.</li>
 *   <li><b>Statistics groups.</b> Statistics are taken over {@code reduceAxes}. There is one
 *       statistics group per index of the remaining ("kept") axes, numbered in c-order of the kept
 *       axes (no kept axes: a single group). {@code mean}, {@code v}, {@code count} of {@link Fwd}
 *       have one entry per group.</li>
 *   <li><b>Affine parameters.</b> γ and β have length {@code shape[paramAxis]} and are indexed by
 *       the {@code paramAxis} coordinate of each element; {@code paramAxis} may be a kept axis
 *       (batch norm) or a reduced axis (layer norm). {@code gamma == null} means γ = 1,
 *       {@code beta == null} means β = 0.</li>
 *   <li><b>Weights (masks).</b> {@code weights} (nullable = all 1) has the length of x and entries
 *       0 or 1. A group's count is m = Σ w, mean μ = Σ w x / m, and the output is multiplied by w
 *       (masked elements give y = 0 and dx = 0). A group with m = 0 (fully masked) has
 *       μ = v = 0 and contributes nothing.</li>
 *   <li><b>Normalizer.</b> u = x − μ, v = the statistic's "variance equivalent" (see
 *       {@link StatKind}), d = sqrt(v + ε), x̂ = u / d.</li>
 *   <li><b>Noise</b> (Santurkar et al. 2018, Algorithm 1): arrays s and m of x's shape (nullable:
 *       s = 1, m = 0). After the affine map: y = s ⊙ (γ x̂ + β) + m. Before it:
 *       y = γ (s ⊙ x̂ + m) + β. Then y ← w ⊙ y. The noise is a constant for the gradient.</li>
 * </ul>
 * All methods are pure: inputs are never modified, results are fresh arrays.
 */
public final class Ref {

    private Ref() {
    }

    // =====================================================================================
    // Statistic description and result records
    // =====================================================================================

    /**
     * Statistic kinds. Each gives a "variance-equivalent" v per group (u = x − μ, weights w,
     * count m = Σ w):
     * <ul>
     *   <li>{@link #VARIANCE}: v = Σ w u² / m (biased).</li>
     *   <li>{@link #LP}: M_p = Σ w |u|^p / m, v = (C^p · M_p)^(2/p) = C² M_p^(2/p), with
     *       C = {@link #lpConstant(double)} if the constant is used, else 1. For p = 2 this is
     *       {@code VARIANCE}.</li>
     *   <li>{@link #TOPK}: T = mean of the k largest |u| among the elements with w = 1 (k = 1: the
     *       maximum; if fewer than k elements are selected, all of them), v = (C·T)², with
     *       C = {@link #topKConstant(int)} of the group count m if the constant is used, else 1.</li>
     * </ul>
     */
    public enum StatKind { VARIANCE, LP, TOPK }

    /**
     * TOPK's tie margin in units of double's ulp of 1: a value whose |u| is within
     * {@code TIE_ULPS · 2^-52 · (|μ| + τ)} of the threshold τ (the k-th largest |u| of its group; μ the group's mean,
     * 0 without centring) ties at τ. It is the library's margin ({@code Statistic.TIE_ULPS}, 4 ulps of the compute
     * type), here in double: the reference's two-pass mean leaves the two values of a group of two (|u_1| = |u_2| in
     * exact arithmetic) within a few double ulps of each other.
     */
    static final double TIE_ULPS = 4;

    /**
     * A statistic: its kind, p (LP only; 2 for VARIANCE, +∞ for TOPK), k (TOPK only; 0 otherwise),
     * whether the Gaussian-consistency constant is applied (LP/TOPK; always false for
     * VARIANCE), and TOPK's tie margin per unit of |μ| + τ (by default {@link #TIE_ULPS} double ulps of 1).
     */
    public record Stat(StatKind kind, double p, int k, boolean useConstant, double tieMargin) {
        public Stat(StatKind kind, double p, int k, boolean useConstant) {
            this(kind, p, k, useConstant, TIE_ULPS * Math.ulp(1.0));
        }

        /** The same statistic with another tie margin (TOPK: values within {@code margin · (|μ| + τ)} of τ tie). */
        public Stat withTieMargin(double margin) {
            return new Stat(kind, p, k, useConstant, margin);
        }

        /** Validates the combination. */
        public Stat {
            if (kind == null) {
                throw new IllegalArgumentException("kind is null");
            }
            if (kind == StatKind.LP && !(p > 0 && Double.isFinite(p))) {
                throw new IllegalArgumentException("LP needs a finite p > 0, got " + p);
            }
            if (kind == StatKind.TOPK && k < 1) {
                throw new IllegalArgumentException("TOPK needs k >= 1, got " + k);
            }
        }

        /** The biased variance: v = Σ w u² / m. */
        public static Stat variance() {
            return new Stat(StatKind.VARIANCE, 2.0, 0, false);
        }

        /** The p-th absolute central moment: v = (C^p Σ w|u|^p / m)^(2/p), C = C_p or 1. */
        public static Stat lp(double p, boolean useConstant) {
            return new Stat(StatKind.LP, p, 0, useConstant);
        }

        /** The mean of the k largest |u|: v = (C·T)², C = C(m) or 1. */
        public static Stat topK(int k, boolean useConstant) {
            return new Stat(StatKind.TOPK, Double.POSITIVE_INFINITY, k, useConstant);
        }
    }

    /**
     * Result of a training forward pass.
     *
     * @param y     output, shape of x
     * @param mean  μ per statistics group
     * @param v     variance-equivalent v per statistics group (before adding ε)
     * @param count m = Σ w per statistics group
     */
    public record Fwd(double[] y, double[] mean, double[] v, double[] count) {
    }

    /**
     * Result of a training backward pass: dL/dx (shape of x), dL/dγ and dL/dβ (length
     * {@code shape[paramAxis]}).
     */
    public record Bwd(double[] dx, double[] dgamma, double[] dbeta) {
    }

    /**
     * What the general forms of {@link #forward} and {@link #backward} add to the first release's layers.
     *
     * @param center  subtract the group mean (false: u = x, RMS norm; no mean correction in the backward)
     * @param frozen  per group: use {@code fixedMean}, {@code fixedV} instead of the group's statistics, which are then
     *                constants (no correction terms in the backward); null for none
     * @param fixedMean per group, the mean used where frozen (running statistics)
     * @param fixedV  per group, the variance equivalent used where frozen
     * @param renormR per group, batch renormalization's r (a constant), or null
     * @param renormD per group, batch renormalization's d (a constant), or null: x̂ ← x̂·r + d
     */
    public record Options(boolean center, boolean[] frozen, double[] fixedMean, double[] fixedV, double[] renormR,
                          double[] renormD) {
        /** Centred, nothing frozen, no renormalization: the first release's layers. */
        public static final Options DEFAULT = new Options(true, null, null, null, null, null);

        boolean frozen(int g) {
            return frozen != null && frozen[g];
        }

        double r(int g) {
            return renormR == null ? 1.0 : renormR[g];
        }

        double d(int g) {
            return renormD == null ? 0.0 : renormD[g];
        }
    }

    // =====================================================================================
    // Normalization: training forward / backward
    // =====================================================================================

    /**
     * Training forward pass of a normalization layer.
     * <pre>
     *   m = Σ_group w,  μ = Σ_group w x / m  (two-pass, with a correction sweep),  u = x − μ
     *   v = statistic(u)  (see {@link StatKind}),  d = sqrt(v + ε),  x̂ = u / d
     *   noiseBeforeAffine = false:  y = s ⊙ (γ x̂ + β) + m_noise
     *   noiseBeforeAffine = true:   y = γ (s ⊙ x̂ + m_noise) + β
     *   y ← w ⊙ y
     * </pre>
     *
     * @param x                 input, c-order, shape {@code shape}
     * @param shape             shape of x
     * @param reduceAxes        axes the statistics are taken over (distinct, non-empty)
     * @param paramAxis         axis that indexes γ and β
     * @param weights           0/1 mask of x's length, or null (all 1)
     * @param gamma             γ of length shape[paramAxis], or null (1)
     * @param beta              β of length shape[paramAxis], or null (0)
     * @param stat              the statistic
     * @param eps               ε added to v
     * @param noiseS            multiplicative noise s (shape of x) or null (1)
     * @param noiseM            additive noise m (shape of x) or null (0)
     * @param noiseBeforeAffine where the noise is applied (see above)
     * @return y and the per-group statistics μ, v, m
     */
    public static Fwd forward(double[] x, int[] shape, int[] reduceAxes, int paramAxis,
                              double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                              double[] noiseS, double[] noiseM, boolean noiseBeforeAffine) {
        return forward(x, shape, reduceAxes, paramIndex(shape, paramAxis), shape[paramAxis], weights, gamma, beta, stat,
                eps, noiseS, noiseM, noiseBeforeAffine, Options.DEFAULT);
    }

    /**
     * The general training forward: as {@link #forward(double[], int[], int[], int, double[], double[], double[],
     * Stat, double, double[], double[], boolean)}, with the parameter index of every element given ({@code param},
     * values in [0, nParam): group norm's parameters run along the channels while its statistics are per group of
     * channels) and the {@link Options}. The returned statistics are the group's own (also where frozen).
     */
    public static Fwd forward(double[] x, int[] shape, int[] reduceAxes, int[] param, int nParam,
                              double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                              double[] noiseS, double[] noiseM, boolean noiseBeforeAffine, Options o) {
        Layout lay = new Layout(shape, reduceAxes, param, nParam);
        checkInputs(lay, x, weights, gamma, beta, noiseS, noiseM);
        Stats st = computeStats(x, lay, weights, stat, eps, o);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int g = lay.group[i];
            int p = lay.param[i];
            double w = weights == null ? 1.0 : weights[i];
            double xhat = st.count[g] > 0 || o.frozen(g) ? st.uUsed[i] / st.dUsed[g] * o.r(g) + o.d(g) : 0.0;
            double ga = gamma == null ? 1.0 : gamma[p];
            double be = beta == null ? 0.0 : beta[p];
            double s = noiseS == null ? 1.0 : noiseS[i];
            double mn = noiseM == null ? 0.0 : noiseM[i];
            double yi = noiseBeforeAffine ? ga * (s * xhat + mn) + be : s * (ga * xhat + be) + mn;
            y[i] = w * yi;
        }
        return new Fwd(y, st.mean, st.v, st.count);
    }

    /**
     * Training backward pass (complete gradient: the statistics depend on x), derived
     * analytically. With dy = dL/dy:
     * <pre>
     *   after affine:   g_aff = w s dy,  z = x̂,            g' = dL/dx̂ = γ g_aff
     *   before affine:  g_aff = w dy,    z = s x̂ + m_noise, g' = dL/dx̂ = γ s g_aff
     *   dβ_p = Σ_{i: param(i)=p} g_aff_i,   dγ_p = Σ_{i: param(i)=p} g_aff_i z_i
     *   du_i = g'_i / d − (Σ_group g' x̂) / (2 d²) · ∂v/∂u_i
     *   dx_i = du_i − (w_i / m) Σ_group du
     * </pre>
     * with ∂v/∂u_i = 2 w_i u_i / m (VARIANCE); 2 C² / m · M_p^(2/p − 1) · w_i |u_i|^(p−1) sign(u_i)
     * (LP); 2 C² T / k · sign(u_i) · a_i (TOPK, k the number of elements averaged), with a_i = 1 above
     * the k-th largest |u| (the threshold τ), a_i = (k − n_above)/n_at for each of the n_at elements tied at τ
     * (within {@link #TIE_ULPS}; the symmetric subgradient, the derivative where nothing ties) and 0 below.
     * Parameters as in {@link #forward}; {@code dy} has x's shape.
     */
    public static Bwd backward(double[] x, int[] shape, int[] reduceAxes, int paramAxis,
                               double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                               double[] noiseS, double[] noiseM, boolean noiseBeforeAffine, double[] dy) {
        return backward(x, shape, reduceAxes, paramIndex(shape, paramAxis), shape[paramAxis], weights, gamma, beta, stat,
                eps, noiseS, noiseM, noiseBeforeAffine, dy, Options.DEFAULT);
    }

    /**
     * The general training backward, with the parameter index of every element and the {@link Options} (see the
     * general {@link #forward}): in a frozen group the statistics are constants, so du = g'/d and dx = du there;
     * batch renormalization's r multiplies g' and d enters z (both constants); without centring there is no mean
     * correction.
     */
    public static Bwd backward(double[] x, int[] shape, int[] reduceAxes, int[] param, int nParam,
                               double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                               double[] noiseS, double[] noiseM, boolean noiseBeforeAffine, double[] dy, Options o) {
        Layout lay = new Layout(shape, reduceAxes, param, nParam);
        checkInputs(lay, x, weights, gamma, beta, noiseS, noiseM);
        checkLength("dy", dy, x.length);
        Stats st = computeStats(x, lay, weights, stat, eps, o);
        int n = x.length;
        int nGroups = lay.nGroups;
        double[] dgamma = new double[nParam];
        double[] dbeta = new double[nParam];
        double[] gp = new double[n];     // g' = dL/dx̂
        double[] xhat = new double[n];
        for (int i = 0; i < n; i++) {
            int g = lay.group[i];
            int p = lay.param[i];
            double w = weights == null ? 1.0 : weights[i];
            xhat[i] = st.count[g] > 0 || o.frozen(g) ? st.uUsed[i] / st.dUsed[g] : 0.0;
            double ga = gamma == null ? 1.0 : gamma[p];
            double s = noiseS == null ? 1.0 : noiseS[i];
            double mn = noiseM == null ? 0.0 : noiseM[i];
            double gAff;
            double z;
            double zr = xhat[i] * o.r(g) + o.d(g);
            if (noiseBeforeAffine) {
                gAff = w * dy[i];
                z = s * zr + mn;
                gp[i] = ga * s * gAff * o.r(g);
            } else {
                gAff = w * s * dy[i];
                z = zr;
                gp[i] = ga * gAff * o.r(g);
            }
            dbeta[p] += gAff;
            dgamma[p] += gAff * z;
        }
        // A_g = Σ_group g' x̂
        double[] a = new double[nGroups];
        for (int i = 0; i < n; i++) {
            a[lay.group[i]] += gp[i] * xhat[i];
        }
        double[] du = new double[n];
        double[] sumDu = new double[nGroups];
        for (int i = 0; i < n; i++) {
            int g = lay.group[i];
            if (o.frozen(g)) {
                du[i] = gp[i] / st.dUsed[g];
                continue;
            }
            if (st.count[g] <= 0) {
                continue;
            }
            double w = weights == null ? 1.0 : weights[i];
            double d = st.d[g];
            double dvdu = dvdu(st, stat, g, i, w);
            du[i] = gp[i] / d - a[g] / (2.0 * d * d) * dvdu;
            sumDu[g] += du[i];
        }
        double[] dx = new double[n];
        for (int i = 0; i < n; i++) {
            int g = lay.group[i];
            if (o.frozen(g) || !o.center()) {
                dx[i] = du[i];
                continue;
            }
            if (st.count[g] <= 0) {
                continue;
            }
            double w = weights == null ? 1.0 : weights[i];
            dx[i] = du[i] - w / st.count[g] * sumDu[g];
        }
        return new Bwd(dx, dgamma, dbeta);
    }

    /** ∂v/∂u_i for element i of group g (see {@link #backward}). */
    private static double dvdu(Stats st, Stat stat, int g, int i, double w) {
        double u = st.u[i];
        double m = st.count[g];
        double c2 = st.c[g] * st.c[g];
        switch (stat.kind()) {
            case VARIANCE:
                return 2.0 * w * u / m;
            case LP: {
                double p = stat.p();
                double mp = st.mp[g];
                if (mp == 0.0 || w == 0.0 || u == 0.0) {
                    return 0.0; // (sub)gradient 0 at the kinks
                }
                return 2.0 * c2 / m * Math.pow(mp, 2.0 / p - 1.0) * w * Math.pow(Math.abs(u), p - 1.0) * Math.signum(u);
            }
            case TOPK:
                return st.topWeight[i] == 0.0 ? 0.0 : 2.0 * c2 * st.t[g] / st.kEff[g] * st.topWeight[i] * Math.signum(u);
            default:
                throw new IllegalStateException();
        }
    }

    // =====================================================================================
    // Inference and running statistics
    // =====================================================================================

    /**
     * Inference: y = γ (x − mean_run) / sqrt(v_run + ε) + β, with γ, β, mean_run, v_run indexed by
     * the {@code paramAxis} coordinate (a per-feature affine map; no statistics of x are used).
     * gamma/beta null mean 1/0.
     */
    public static double[] inference(double[] x, int[] shape, int paramAxis, double[] meanRun, double[] vRun,
                                     double[] gamma, double[] beta, double eps) {
        int[] param = paramIndex(shape, paramAxis);
        checkLength("x", x, param.length);
        int nParam = shape[paramAxis];
        checkLength("meanRun", meanRun, nParam);
        checkLength("vRun", vRun, nParam);
        if (gamma != null) {
            checkLength("gamma", gamma, nParam);
        }
        if (beta != null) {
            checkLength("beta", beta, nParam);
        }
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int p = param[i];
            double ga = gamma == null ? 1.0 : gamma[p];
            double be = beta == null ? 0.0 : beta[p];
            y[i] = ga * (x[i] - meanRun[p]) / Math.sqrt(vRun[p] + eps) + be;
        }
        return y;
    }

    /**
     * One running-statistics update (decay weights the OLD value; PyTorch momentum 0.1 = decay 0.9):
     * <pre>
     *   meanRun ← decay · meanRun + (1 − decay) · mean
     *   vRun    ← decay · vRun    + (1 − decay) · v · m / (m − 1)     (m = count, must be &gt; 1)
     * </pre>
     * Entry j of every array refers to the same feature (for batch norm the statistics groups are
     * the features). For ghost batch norm call it once per ghost batch, in order.
     *
     * @return {newMeanRun, newVRun}
     */
    public static double[][] updateRunning(double[] meanRun, double[] vRun, double[] mean, double[] v,
                                           double[] count, double decay) {
        int n = meanRun.length;
        checkLength("vRun", vRun, n);
        checkLength("mean", mean, n);
        checkLength("v", v, n);
        checkLength("count", count, n);
        double[] nm = new double[n];
        double[] nv = new double[n];
        for (int j = 0; j < n; j++) {
            double m = count[j];
            if (!(m > 1)) {
                throw new IllegalArgumentException("running variance needs count > 1, got " + m + " at " + j);
            }
            nm[j] = decay * meanRun[j] + (1.0 - decay) * mean[j];
            nv[j] = decay * vRun[j] + (1.0 - decay) * v[j] * m / (m - 1.0);
        }
        return new double[][]{nm, nv};
    }

    // =====================================================================================
    // Constants
    // =====================================================================================

    /**
     * Gaussian-consistency constant of the Lp statistic:
     * C_p = ( 2^(p/2) Γ((p+1)/2) / sqrt(π) )^(−1/p), so that C_p (E|X|^p)^(1/p) = σ for
     * X ~ N(0, σ²). C_1 = sqrt(π/2), C_2 = 1, C_3 = (2 sqrt(2/π))^(−1/3), C_4 = 3^(−1/4).
     * Computed with {@link #lnGamma(double)}.
     */
    public static double lpConstant(double p) {
        if (!(p > 0 && Double.isFinite(p))) {
            throw new IllegalArgumentException("p must be finite and > 0, got " + p);
        }
        double lnA = 0.5 * p * Math.log(2.0) + lnGamma(0.5 * (p + 1.0)) - 0.5 * Math.log(Math.PI);
        return Math.exp(-lnA / p);
    }

    /**
     * Top-k (max) constant of Hoffer et al. 2018 ("Norm matters"):
     * C(m) = 0.5 · (1 + sqrt(π · ln 4)) / sqrt(2 ln m), m the group count (m ≥ 2).
     */
    public static double topKConstant(int m) {
        return topKConstant((double) m);
    }

    private static double topKConstant(double m) {
        if (!(m >= 2)) {
            throw new IllegalArgumentException("top-k constant needs m >= 2, got " + m);
        }
        return 0.5 * (1.0 + Math.sqrt(Math.PI * Math.log(4.0))) / Math.sqrt(2.0 * Math.log(m));
    }

    /** Lanczos coefficients, g = 7, n = 9. */
    private static final double LANCZOS_G = 7.0;
    private static final double[] LANCZOS = {
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};

    /**
     * ln|Γ(z)| by the Lanczos approximation (g = 7, 9 terms; about 15 significant digits), with the
     * reflection formula Γ(z) Γ(1 − z) = π / sin(π z) for z &lt; 1/2.
     * For z ≥ 1/2: Γ(z) = sqrt(2π) t^(z − 1/2) e^(−t) A(z), t = z − 1 + g + 1/2,
     * A(z) = c_0 + Σ_{i=1}^{8} c_i / (z − 1 + i).
     */
    public static double lnGamma(double z) {
        if (z < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * z))) - lnGamma(1.0 - z);
        }
        double zz = z - 1.0;
        double a = LANCZOS[0];
        for (int i = 1; i < LANCZOS.length; i++) {
            a += LANCZOS[i] / (zz + i);
        }
        double t = zz + LANCZOS_G + 0.5;
        return 0.5 * Math.log(2.0 * Math.PI) + (zz + 0.5) * Math.log(t) - t + Math.log(a);
    }

    // =====================================================================================
    // Ghost batch norm
    // =====================================================================================

    /**
     * Ghost-batch boundaries: axis 0 of length n is split into contiguous groups of size v; a
     * remainder r ≥ 2 forms a smaller last group, a remainder of exactly 1 sample joins the previous
     * group (a single sample has no variance); v ≥ n gives one group.
     * Examples: (10, 4) → [0, 4, 8, 10]; (9, 4) → [0, 4, 9]; (3, 8) → [0, 3].
     *
     * @return the boundaries [start_0 = 0, start_1, ..., n]; group j is [b[j], b[j+1])
     */
    public static int[] ghostGroups(int n, int v) {
        if (n < 1 || v < 1) {
            throw new IllegalArgumentException("need n >= 1 and v >= 1, got n=" + n + " v=" + v);
        }
        int full = n / v;
        int r = n % v;
        if (full == 0) {
            return new int[]{0, n};
        }
        List<Integer> b = new ArrayList<>();
        for (int j = 0; j < full; j++) {
            b.add(j * v);
        }
        if (r >= 2) {
            b.add(full * v);
        }
        b.add(n); // r == 0: closes the last full group; r == 1: the last full group absorbs the sample
        return b.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Ghost batch norm forward: {@link #forward} applied independently to each ghost batch
     * [b_j, b_{j+1}) of axis 0 ({@code b = ghostGroups(shape[0], v)}); axis 0 must be in
     * {@code reduceAxes}. The returned y is the concatenation along axis 0; mean, v, count are the
     * per-ghost-batch statistics concatenated ghost-batch-major (ghost batch j's groups at
     * [j·G, (j+1)·G), G the number of groups of one ghost batch), in the order in which the running
     * statistics are to be updated.
     */
    public static Fwd ghostForward(double[] x, int[] shape, int[] reduceAxes, int paramAxis,
                                   double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                                   double[] noiseS, double[] noiseM, boolean noiseBeforeAffine, int v) {
        checkGhost(shape, reduceAxes, paramAxis);
        int[] b = ghostGroups(shape[0], v);
        int inner = x.length / shape[0];
        double[] y = new double[x.length];
        List<double[]> means = new ArrayList<>();
        List<double[]> vs = new ArrayList<>();
        List<double[]> counts = new ArrayList<>();
        for (int j = 0; j + 1 < b.length; j++) {
            int lo = b[j] * inner;
            int hi = b[j + 1] * inner;
            int[] sh = shape.clone();
            sh[0] = b[j + 1] - b[j];
            Fwd f = forward(slice(x, lo, hi), sh, reduceAxes, paramAxis, slice(weights, lo, hi), gamma, beta,
                stat, eps, slice(noiseS, lo, hi), slice(noiseM, lo, hi), noiseBeforeAffine);
            System.arraycopy(f.y(), 0, y, lo, hi - lo);
            means.add(f.mean());
            vs.add(f.v());
            counts.add(f.count());
        }
        return new Fwd(y, concat(means), concat(vs), concat(counts));
    }

    /**
     * Ghost batch norm backward: {@link #backward} per ghost batch; dx concatenated along axis 0,
     * dγ and dβ summed over the ghost batches. Arguments as in {@link #ghostForward}.
     */
    public static Bwd ghostBackward(double[] x, int[] shape, int[] reduceAxes, int paramAxis,
                                    double[] weights, double[] gamma, double[] beta, Stat stat, double eps,
                                    double[] noiseS, double[] noiseM, boolean noiseBeforeAffine, double[] dy,
                                    int v) {
        checkGhost(shape, reduceAxes, paramAxis);
        int[] b = ghostGroups(shape[0], v);
        int inner = x.length / shape[0];
        double[] dx = new double[x.length];
        double[] dgamma = new double[shape[paramAxis]];
        double[] dbeta = new double[shape[paramAxis]];
        for (int j = 0; j + 1 < b.length; j++) {
            int lo = b[j] * inner;
            int hi = b[j + 1] * inner;
            int[] sh = shape.clone();
            sh[0] = b[j + 1] - b[j];
            Bwd r = backward(slice(x, lo, hi), sh, reduceAxes, paramAxis, slice(weights, lo, hi), gamma, beta,
                stat, eps, slice(noiseS, lo, hi), slice(noiseM, lo, hi), noiseBeforeAffine, slice(dy, lo, hi));
            System.arraycopy(r.dx(), 0, dx, lo, hi - lo);
            for (int p = 0; p < dgamma.length; p++) {
                dgamma[p] += r.dgamma()[p];
                dbeta[p] += r.dbeta()[p];
            }
        }
        return new Bwd(dx, dgamma, dbeta);
    }

    private static void checkGhost(int[] shape, int[] reduceAxes, int paramAxis) {
        if (Arrays.stream(reduceAxes).noneMatch(a -> a == 0)) {
            throw new IllegalArgumentException("ghost batch norm needs axis 0 among the reduce axes");
        }
        if (paramAxis == 0) {
            throw new IllegalArgumentException("ghost batch norm cannot have its parameters on axis 0");
        }
    }

    // =====================================================================================
    // Noise only
    // =====================================================================================

    /** Noise without normalization (the paper's control): y = s ⊙ x + m (s, m nullable: 1, 0). */
    public static double[] noise(double[] x, double[] noiseS, double[] noiseM) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = (noiseS == null ? 1.0 : noiseS[i]) * x[i] + (noiseM == null ? 0.0 : noiseM[i]);
        }
        return y;
    }

    /** Backward of {@link #noise}: dx = s ⊙ dy (the noise is a constant). */
    public static double[] noiseBackward(double[] noiseS, double[] dy) {
        double[] dx = new double[dy.length];
        for (int i = 0; i < dy.length; i++) {
            dx[i] = (noiseS == null ? 1.0 : noiseS[i]) * dy[i];
        }
        return dx;
    }

    // =====================================================================================
    // Weight norm
    // =====================================================================================

    /**
     * Weight norm: w = g · v / ‖v‖ per output unit.
     * Layouts: dense v is [nIn, nOut] (DL4J), g is [nOut], unit j is the column v[:, j];
     * convolution v is [outC, inC, kH, kW] (DL4J), g is [outC], unit o is v[o, :, :, :] (norm over
     * inC·kH·kW).
     *
     * @return w, same layout as v
     */
    public static double[] weightNormW(double[] v, int[] vShape, double[] g) {
        WnLayout l = new WnLayout(vShape);
        checkLength("v", v, l.size);
        checkLength("g", g, l.nUnits);
        double[] norm = l.norms(v);
        double[] w = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int j = l.unit(i);
            w[i] = g[j] * v[i] / norm[j];
        }
        return w;
    }

    /**
     * Weight-norm gradients from dW = ∇_w L (layout of v), per output unit j:
     * <pre>
     *   ∇g_j = (∇w_j · v_j) / ‖v_j‖
     *   ∇v_j = (g_j / ‖v_j‖) (∇w_j − (∇g_j / ‖v_j‖) v_j)
     * </pre>
     *
     * @return {dg, dv}
     */
    public static double[][] weightNormGrads(double[] v, int[] vShape, double[] g, double[] dW) {
        WnLayout l = new WnLayout(vShape);
        checkLength("v", v, l.size);
        checkLength("g", g, l.nUnits);
        checkLength("dW", dW, l.size);
        double[] norm = l.norms(v);
        double[] dg = new double[l.nUnits];
        for (int i = 0; i < v.length; i++) {
            dg[l.unit(i)] += dW[i] * v[i];
        }
        for (int j = 0; j < l.nUnits; j++) {
            dg[j] /= norm[j];
        }
        double[] dv = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            int j = l.unit(i);
            dv[i] = g[j] / norm[j] * (dW[i] - dg[j] / norm[j] * v[i]);
        }
        return new double[][]{dg, dv};
    }

    /** Unit layout of a weight-norm weight: rank 2 = dense [nIn, nOut], rank 4 = conv [outC, ...]. */
    private static final class WnLayout {
        final int[] shape;
        final int size;
        final int nUnits;

        WnLayout(int[] shape) {
            if (shape.length != 2 && shape.length != 4) {
                throw new IllegalArgumentException("weight shape must be [nIn,nOut] or [outC,inC,kH,kW]: "
                    + Arrays.toString(shape));
            }
            this.shape = shape.clone();
            this.size = product(shape);
            this.nUnits = shape.length == 2 ? shape[1] : shape[0];
        }

        int unit(int i) {
            return shape.length == 2 ? i % shape[1] : i / (size / shape[0]);
        }

        double[] norms(double[] v) {
            double[] ss = new double[nUnits];
            for (int i = 0; i < v.length; i++) {
                ss[unit(i)] += v[i] * v[i];
            }
            for (int j = 0; j < nUnits; j++) {
                ss[j] = Math.sqrt(ss[j]);
            }
            return ss;
        }
    }

    // =====================================================================================
    // Dense and 2D convolution
    // =====================================================================================

    /**
     * Dense layer: y = x w + b, x [n, nIn], w [nIn, nOut] (DL4J layout), b [nOut] or null (0).
     *
     * @return y [n, nOut]
     */
    public static double[] dense(double[] x, int n, int nIn, double[] w, int nOut, double[] b) {
        checkLength("x", x, n * nIn);
        checkLength("w", w, nIn * nOut);
        if (b != null) {
            checkLength("b", b, nOut);
        }
        double[] y = new double[n * nOut];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < nOut; j++) {
                double acc = b == null ? 0.0 : b[j];
                for (int i = 0; i < nIn; i++) {
                    acc += x[r * nIn + i] * w[i * nOut + j];
                }
                y[r * nOut + j] = acc;
            }
        }
        return y;
    }

    /**
     * Backward of {@link #dense}: dx = dy wᵀ [n, nIn], dW = xᵀ dy [nIn, nOut], db = Σ_rows dy [nOut].
     *
     * @return {dx, dW, db}
     */
    public static double[][] denseBackward(double[] x, int n, int nIn, double[] w, int nOut, double[] dy) {
        checkLength("x", x, n * nIn);
        checkLength("w", w, nIn * nOut);
        checkLength("dy", dy, n * nOut);
        double[] dx = new double[n * nIn];
        double[] dW = new double[nIn * nOut];
        double[] db = new double[nOut];
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < nOut; j++) {
                double g = dy[r * nOut + j];
                db[j] += g;
                for (int i = 0; i < nIn; i++) {
                    dx[r * nIn + i] += g * w[i * nOut + j];
                    dW[i * nOut + j] += g * x[r * nIn + i];
                }
            }
        }
        return new double[][]{dx, dW, db};
    }

    /**
     * Output shape of {@link #conv2d}: [N, outC, outH, outW] (NCHW) or [N, outH, outW, outC] (NHWC).
     * Same mode (DL4J ConvolutionMode.Same, TensorFlow 'SAME'): out = ceil(in / stride), total
     * padding max(0, (out − 1)·stride + k − in), top/left = total / 2 (floor), the extra on the
     * bottom/right; {@code pad} is ignored. Otherwise (Truncate): symmetric padding pad,
     * out = floor((in + 2 pad − k) / stride) + 1.
     */
    public static int[] conv2dOutShape(int[] xShape, boolean nchw, int[] wShape, int[] stride, int[] pad,
                                       boolean sameMode) {
        ConvGeom c = new ConvGeom(xShape, nchw, wShape, stride, pad, sameMode);
        return nchw ? new int[]{c.n, c.outC, c.outH, c.outW} : new int[]{c.n, c.outH, c.outW, c.outC};
    }

    /**
     * 2D convolution (cross-correlation, as DL4J), dilation 1:
     * <pre>
     *   y[n, o, i, j] = b[o] + Σ_{c, a, e} x[n, c, i·sH − padTop + a, j·sW − padLeft + e] · w[o, c, a, e]
     * </pre>
     * with out-of-range input positions reading zero. Padding and output size as in
     * {@link #conv2dOutShape}.
     *
     * @param x        input, [N, C, H, W] if {@code nchw}, else [N, H, W, C]
     * @param xShape   shape of x (in its data format)
     * @param nchw     data format of x and y
     * @param w        weights [outC, inC, kH, kW] (always this layout)
     * @param wShape   {outC, inC, kH, kW}
     * @param b        bias [outC] or null (0)
     * @param stride   {sH, sW}
     * @param pad      {pH, pW} (Truncate mode; ignored in Same mode)
     * @param sameMode DL4J ConvolutionMode.Same if true, else Truncate with explicit padding
     * @return y in the data format of x, shape {@link #conv2dOutShape}
     */
    public static double[] conv2d(double[] x, int[] xShape, boolean nchw, double[] w, int[] wShape, double[] b,
                                  int[] stride, int[] pad, boolean sameMode) {
        ConvGeom c = new ConvGeom(xShape, nchw, wShape, stride, pad, sameMode);
        checkLength("x", x, product(xShape));
        checkLength("w", w, product(wShape));
        if (b != null) {
            checkLength("b", b, c.outC);
        }
        double[] y = new double[c.n * c.outC * c.outH * c.outW];
        for (int n = 0; n < c.n; n++) {
            for (int o = 0; o < c.outC; o++) {
                for (int i = 0; i < c.outH; i++) {
                    for (int j = 0; j < c.outW; j++) {
                        double acc = b == null ? 0.0 : b[o];
                        for (int ch = 0; ch < c.inC; ch++) {
                            for (int a = 0; a < c.kH; a++) {
                                int h = i * c.sH - c.padTop + a;
                                if (h < 0 || h >= c.h) {
                                    continue;
                                }
                                for (int e = 0; e < c.kW; e++) {
                                    int ww = j * c.sW - c.padLeft + e;
                                    if (ww < 0 || ww >= c.w) {
                                        continue;
                                    }
                                    acc += x[c.xIdx(n, ch, h, ww)] * w[c.wIdx(o, ch, a, e)];
                                }
                            }
                        }
                        y[c.yIdx(n, o, i, j)] = acc;
                    }
                }
            }
        }
        return y;
    }

    /**
     * Backward of {@link #conv2d} (same arguments, without the bias, plus dy):
     * <pre>
     *   dx[n, c, h, w'] = Σ dy[n, o, i, j] · w[o, c, a, e]   over h = i·sH − padTop + a, w' = j·sW − padLeft + e
     *   dW[o, c, a, e]  = Σ_{n, i, j} dy[n, o, i, j] · x[n, c, i·sH − padTop + a, j·sW − padLeft + e]
     *   db[o]           = Σ_{n, i, j} dy[n, o, i, j]
     * </pre>
     *
     * @param dy upstream gradient in the data format of y (shape {@link #conv2dOutShape})
     * @return {dx (format and shape of x), dW [outC, inC, kH, kW], db [outC]}
     */
    public static double[][] conv2dBackward(double[] x, int[] xShape, boolean nchw, double[] w, int[] wShape,
                                            int[] stride, int[] pad, boolean sameMode, double[] dy) {
        ConvGeom c = new ConvGeom(xShape, nchw, wShape, stride, pad, sameMode);
        checkLength("x", x, product(xShape));
        checkLength("w", w, product(wShape));
        checkLength("dy", dy, c.n * c.outC * c.outH * c.outW);
        double[] dx = new double[x.length];
        double[] dW = new double[w.length];
        double[] db = new double[c.outC];
        for (int n = 0; n < c.n; n++) {
            for (int o = 0; o < c.outC; o++) {
                for (int i = 0; i < c.outH; i++) {
                    for (int j = 0; j < c.outW; j++) {
                        double g = dy[c.yIdx(n, o, i, j)];
                        db[o] += g;
                        for (int ch = 0; ch < c.inC; ch++) {
                            for (int a = 0; a < c.kH; a++) {
                                int h = i * c.sH - c.padTop + a;
                                if (h < 0 || h >= c.h) {
                                    continue;
                                }
                                for (int e = 0; e < c.kW; e++) {
                                    int ww = j * c.sW - c.padLeft + e;
                                    if (ww < 0 || ww >= c.w) {
                                        continue;
                                    }
                                    int xi = c.xIdx(n, ch, h, ww);
                                    int wi = c.wIdx(o, ch, a, e);
                                    dx[xi] += g * w[wi];
                                    dW[wi] += g * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][]{dx, dW, db};
    }

    /** Geometry of a 2D convolution. */
    private static final class ConvGeom {
        final boolean nchw;
        final int n, inC, h, w, outC, kH, kW, sH, sW, outH, outW, padTop, padLeft;

        ConvGeom(int[] xShape, boolean nchw, int[] wShape, int[] stride, int[] pad, boolean sameMode) {
            if (xShape.length != 4 || wShape.length != 4 || stride.length != 2 || (!sameMode && pad.length != 2)) {
                throw new IllegalArgumentException("bad conv shapes");
            }
            this.nchw = nchw;
            n = xShape[0];
            inC = nchw ? xShape[1] : xShape[3];
            h = nchw ? xShape[2] : xShape[1];
            w = nchw ? xShape[3] : xShape[2];
            outC = wShape[0];
            if (wShape[1] != inC) {
                throw new IllegalArgumentException("weight inC " + wShape[1] + " != input channels " + inC);
            }
            kH = wShape[2];
            kW = wShape[3];
            sH = stride[0];
            sW = stride[1];
            if (sH < 1 || sW < 1) {
                throw new IllegalArgumentException("stride must be >= 1");
            }
            if (sameMode) {
                outH = (h + sH - 1) / sH;
                outW = (w + sW - 1) / sW;
                padTop = Math.max(0, (outH - 1) * sH + kH - h) / 2;
                padLeft = Math.max(0, (outW - 1) * sW + kW - w) / 2;
            } else {
                padTop = pad[0];
                padLeft = pad[1];
                outH = (h + 2 * pad[0] - kH) / sH + 1;
                outW = (w + 2 * pad[1] - kW) / sW + 1;
            }
            if (outH < 1 || outW < 1) {
                throw new IllegalArgumentException("empty convolution output");
            }
        }

        int xIdx(int nn, int c, int hh, int ww) {
            return nchw ? ((nn * inC + c) * h + hh) * w + ww : ((nn * h + hh) * w + ww) * inC + c;
        }

        int yIdx(int nn, int o, int i, int j) {
            return nchw ? ((nn * outC + o) * outH + i) * outW + j : ((nn * outH + i) * outW + j) * outC + o;
        }

        int wIdx(int o, int c, int a, int e) {
            return ((o * inC + c) * kH + a) * kW + e;
        }
    }

    // =====================================================================================
    // Index helpers (public: useful to tests that build inputs group by group)
    // =====================================================================================

    /** Row-major strides of a shape. */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int a = shape.length - 1; a >= 0; a--) {
            s[a] = acc;
            acc *= shape[a];
        }
        return s;
    }

    /** Number of elements of a shape. */
    public static int product(int[] shape) {
        int p = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension " + Arrays.toString(shape));
            }
            p *= d;
        }
        return p;
    }

    /**
     * Statistics group of every element: the c-order index over the axes not in
     * {@code reduceAxes} (0 for every element if all axes are reduced).
     */
    public static int[] groupIndex(int[] shape, int[] reduceAxes) {
        boolean[] reduced = reducedMask(shape, reduceAxes);
        int n = product(shape);
        int[] st = strides(shape);
        // strides over the kept axes
        int[] keptStride = new int[shape.length];
        int acc = 1;
        for (int a = shape.length - 1; a >= 0; a--) {
            if (!reduced[a]) {
                keptStride[a] = acc;
                acc *= shape[a];
            }
        }
        int[] g = new int[n];
        for (int i = 0; i < n; i++) {
            int gi = 0;
            for (int a = 0; a < shape.length; a++) {
                if (!reduced[a]) {
                    gi += ((i / st[a]) % shape[a]) * keptStride[a];
                }
            }
            g[i] = gi;
        }
        return g;
    }

    /** Number of statistics groups: the product of the kept axes' sizes. */
    public static int groupCount(int[] shape, int[] reduceAxes) {
        boolean[] reduced = reducedMask(shape, reduceAxes);
        int c = 1;
        for (int a = 0; a < shape.length; a++) {
            if (!reduced[a]) {
                c *= shape[a];
            }
        }
        return c;
    }

    /** Coordinate along {@code paramAxis} of every element. */
    public static int[] paramIndex(int[] shape, int paramAxis) {
        if (paramAxis < 0 || paramAxis >= shape.length) {
            throw new IllegalArgumentException("paramAxis " + paramAxis + " out of range for rank " + shape.length);
        }
        int n = product(shape);
        int st = strides(shape)[paramAxis];
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = (i / st) % shape[paramAxis];
        }
        return p;
    }

    private static boolean[] reducedMask(int[] shape, int[] reduceAxes) {
        if (reduceAxes == null || reduceAxes.length == 0) {
            throw new IllegalArgumentException("reduceAxes must be non-empty");
        }
        boolean[] reduced = new boolean[shape.length];
        for (int a : reduceAxes) {
            if (a < 0 || a >= shape.length) {
                throw new IllegalArgumentException("reduce axis " + a + " out of range for rank " + shape.length);
            }
            if (reduced[a]) {
                throw new IllegalArgumentException("duplicate reduce axis " + a);
            }
            reduced[a] = true;
        }
        return reduced;
    }

    // =====================================================================================
    // Internals
    // =====================================================================================

    /** Group and parameter index of every element. */
    private static final class Layout {
        final int[] shape;
        final int[] group;
        final int[] param;
        final int nGroups;
        final int nParam;

        Layout(int[] shape, int[] reduceAxes, int[] param, int nParam) {
            this.shape = shape.clone();
            this.group = groupIndex(shape, reduceAxes);
            this.nGroups = groupCount(shape, reduceAxes);
            this.param = param.clone();
            this.nParam = nParam;
            if (param.length != product(shape)) {
                throw new IllegalArgumentException("param has length " + param.length + ", expected " + product(shape));
            }
            for (int p : param) {
                if (p < 0 || p >= nParam) throw new IllegalArgumentException("parameter index " + p + " outside [0, " + nParam + ")");
            }
        }
    }

    /** Per-group statistics and per-element centred values of one forward pass. */
    private static final class Stats {
        double[] count;
        double[] mean;
        double[] v;
        double[] d;
        double[] c;      // constant C per group (1 if not used)
        double[] mp;     // LP: M_p per group
        double[] t;      // TOPK: T per group
        int[] kEff;      // TOPK: number of elements averaged per group
        double[] topWeight; // TOPK: element's share of the top k (1 above the threshold, (k − above)/tied at it, 0 below)
        double[] u;      // per element: x − μ
        double[] uUsed;  // per element: x − the mean used (the running mean in a frozen group)
        double[] dUsed;  // per group: sqrt(v + ε) of the v used
    }

    /**
     * Per-group statistics. The mean is computed in two passes (a plain weighted mean, then the
     * correction μ += Σ w (x − μ) / m), and v from the centred values u = x − μ, so that inputs with a
     * large mean and a small spread keep full relative precision.
     */
    private static Stats computeStats(double[] x, Layout lay, double[] weights, Stat stat, double eps, Options o) {
        if (stat == null) {
            throw new IllegalArgumentException("stat is null");
        }
        int n = x.length;
        int ng = lay.nGroups;
        Stats st = new Stats();
        st.count = new double[ng];
        st.mean = new double[ng];
        st.v = new double[ng];
        st.d = new double[ng];
        st.c = new double[ng];
        st.u = new double[n];
        double[] sum = new double[ng];
        for (int i = 0; i < n; i++) {
            double w = weights == null ? 1.0 : weights[i];
            st.count[lay.group[i]] += w;
            sum[lay.group[i]] += w * x[i];
        }
        for (int g = 0; g < ng; g++) {
            st.mean[g] = st.count[g] > 0 ? sum[g] / st.count[g] : 0.0;
        }
        double[] corr = new double[ng];
        for (int i = 0; i < n; i++) {
            double w = weights == null ? 1.0 : weights[i];
            corr[lay.group[i]] += w * (x[i] - st.mean[lay.group[i]]);
        }
        for (int g = 0; g < ng; g++) {
            if (st.count[g] > 0) {
                st.mean[g] += corr[g] / st.count[g];
            }
            if (!o.center()) {
                st.mean[g] = 0.0;
            }
        }
        for (int i = 0; i < n; i++) {
            st.u[i] = x[i] - st.mean[lay.group[i]];
        }
        switch (stat.kind()) {
            case VARIANCE: {
                double[] ss = new double[ng];
                for (int i = 0; i < n; i++) {
                    double w = weights == null ? 1.0 : weights[i];
                    ss[lay.group[i]] += w * st.u[i] * st.u[i];
                }
                for (int g = 0; g < ng; g++) {
                    st.c[g] = 1.0;
                    st.v[g] = st.count[g] > 0 ? ss[g] / st.count[g] : 0.0;
                }
                break;
            }
            case LP: {
                double p = stat.p();
                double cp = stat.useConstant() ? lpConstant(p) : 1.0;
                st.mp = new double[ng];
                for (int i = 0; i < n; i++) {
                    double w = weights == null ? 1.0 : weights[i];
                    if (w != 0.0) {
                        st.mp[lay.group[i]] += w * Math.pow(Math.abs(st.u[i]), p);
                    }
                }
                for (int g = 0; g < ng; g++) {
                    st.c[g] = cp;
                    if (st.count[g] > 0) {
                        st.mp[g] /= st.count[g];
                        st.v[g] = cp * cp * Math.pow(st.mp[g], 2.0 / p);
                    }
                }
                break;
            }
            case TOPK: {
                st.t = new double[ng];
                st.kEff = new int[ng];
                st.topWeight = new double[n];
                List<List<Integer>> members = new ArrayList<>();
                for (int g = 0; g < ng; g++) {
                    members.add(new ArrayList<>());
                }
                for (int i = 0; i < n; i++) {
                    if (weights == null || weights[i] != 0.0) {
                        members.get(lay.group[i]).add(i);
                    }
                }
                for (int g = 0; g < ng; g++) {
                    List<Integer> mem = members.get(g);
                    st.c[g] = 1.0;
                    if (mem.isEmpty()) {
                        continue;
                    }
                    mem.sort((a, b) -> Double.compare(Math.abs(st.u[b]), Math.abs(st.u[a])));
                    int k = Math.min(stat.k(), mem.size());
                    double s = 0.0;
                    for (int r = 0; r < k; r++) {
                        s += Math.abs(st.u[mem.get(r)]);
                    }
                    // the symmetric subgradient: values within the tie margin · (|μ| + τ) of the threshold τ (the
                    // k-th largest |u|) tie and share the k − (number above) places left equally
                    double tau = Math.abs(st.u[mem.get(k - 1)]);
                    double h = stat.tieMargin() * (Math.abs(st.mean[g]) + tau);
                    int above = 0, tied = 0;
                    for (int i : mem) {
                        double a = Math.abs(st.u[i]);
                        if (a > tau + h) above++;
                        else if (a >= tau - h) tied++;
                    }
                    for (int i : mem) {
                        double a = Math.abs(st.u[i]);
                        st.topWeight[i] = a > tau + h ? 1.0 : a >= tau - h ? (double) (k - above) / tied : 0.0;
                    }
                    st.kEff[g] = k;
                    st.t[g] = s / k;
                    if (stat.useConstant()) {
                        st.c[g] = topKConstant(Math.max(st.count[g], 2.0)); // u = 0 in a group of one value
                    }
                    st.v[g] = st.c[g] * st.c[g] * st.t[g] * st.t[g];
                }
                break;
            }
            default:
                throw new IllegalStateException();
        }
        st.uUsed = new double[n];
        st.dUsed = new double[ng];
        for (int g = 0; g < ng; g++) {
            st.d[g] = Math.sqrt(st.v[g] + eps);
            st.dUsed[g] = o.frozen(g) ? Math.sqrt(o.fixedV()[g] + eps) : st.d[g];
        }
        for (int i = 0; i < n; i++) {
            int g = lay.group[i];
            st.uUsed[i] = o.frozen(g) ? x[i] - (o.center() ? o.fixedMean()[g] : 0.0) : st.u[i];
        }
        return st;
    }

    private static void checkInputs(Layout lay, double[] x, double[] weights, double[] gamma, double[] beta,
                                    double[] noiseS, double[] noiseM) {
        int n = lay.group.length;
        checkLength("x", x, n);
        if (weights != null) {
            checkLength("weights", weights, n);
            for (int i = 0; i < n; i++) {
                if (weights[i] != 0.0 && weights[i] != 1.0) {
                    throw new IllegalArgumentException("weights must be 0 or 1, got " + weights[i] + " at " + i);
                }
            }
        }
        if (gamma != null) {
            checkLength("gamma", gamma, lay.nParam);
        }
        if (beta != null) {
            checkLength("beta", beta, lay.nParam);
        }
        if (noiseS != null) {
            checkLength("noiseS", noiseS, n);
        }
        if (noiseM != null) {
            checkLength("noiseM", noiseM, n);
        }
    }

    private static void checkLength(String name, double[] a, int n) {
        if (a == null) {
            throw new IllegalArgumentException(name + " is null");
        }
        if (a.length != n) {
            throw new IllegalArgumentException(name + " has length " + a.length + ", expected " + n);
        }
    }

    private static double[] slice(double[] a, int lo, int hi) {
        return a == null ? null : Arrays.copyOfRange(a, lo, hi);
    }

    private static double[] concat(List<double[]> parts) {
        int n = parts.stream().mapToInt(p -> p.length).sum();
        double[] r = new double[n];
        int o = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, r, o, p.length);
            o += p.length;
        }
        return r;
    }
}
