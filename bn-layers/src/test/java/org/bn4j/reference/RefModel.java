package org.bn4j.reference;

import org.bn4j.check.InputKind;
import org.bn4j.check.Reference;
import org.bn4j.core.Statistic;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchRenorm;
import org.bn4j.runtime.NormLayerImpl;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * What a bn4j layer configuration should compute, by the plain reference ({@link Ref}) and the documented rules
 * only: the statistics axes of each layer are written here again from its documentation (not taken from the library),
 * and so are the small-batch fallback, frozen statistics, batch renormalization's r and d, ghost batches and the
 * activation. Noise is the one input taken from the layer (it is random).
 */
public final class RefModel implements Reference {

    /** Where a layer takes its statistics, as its documentation says. */
    public enum Axes {
        /** Batch norm: over every axis but the channel axis, per channel. */
        BATCH,
        /** Layer norm: per sample over all its values; RNN input per sample and step over the channels. */
        SAMPLE,
        /** RMS norm: per sample and position over the channels. */
        CHANNELS,
        /** Instance norm: per sample and channel over the positions. */
        INSTANCE,
        /** Group norm: per sample and group of channels over the group's channels and the positions. */
        GROUPS,
        /** No statistics (noise only). */
        NONE
    }

    private final AbstractNormLayer conf;
    private final Axes axes;
    private final int groups;
    /** Top-k's tie margin per unit of |μ| + τ (Ref.Stat's); NaN for Ref's default. */
    private final double tieMargin;

    public RefModel(AbstractNormLayer conf, Axes axes, int groups) {
        this(conf, axes, groups, Double.NaN);
    }

    private RefModel(AbstractNormLayer conf, Axes axes, int groups, double tieMargin) {
        this.conf = conf;
        this.axes = axes;
        this.groups = groups;
        this.tieMargin = tieMargin;
    }

    /** This model with top-k's values within {@code margin · (|μ| + τ)} of the threshold τ counted as tied. */
    public RefModel withTieMargin(double margin) {
        return new RefModel(conf, axes, groups, margin);
    }

    /** Ref's statistic for the layer's, with this model's tie margin. */
    private Ref.Stat stat() {
        Ref.Stat s = stat(conf.getStatistic());
        return Double.isNaN(tieMargin) ? s : s.withTieMargin(tieMargin);
    }

    /** Ref's statistic for the library's. */
    public static Ref.Stat stat(Statistic s) {
        return switch (s.kind()) {
            case VARIANCE -> Ref.Stat.variance();
            case LP -> Ref.Stat.lp(s.p(), s.gaussianConstant());
            case TOP_K -> Ref.Stat.topK(s.k(), s.gaussianConstant());
        };
    }

    /** Fewest values a group needs in training, as documented. */
    public int minCount() {
        Statistic s = conf.getStatistic();
        int k = s.kind() == Statistic.Kind.TOP_K ? s.k() : 1;
        return conf.isCenter() ? Math.max(2, k) : k;
    }

    /** The statistics groups of an input: its shape for the statistics and the reduced axes of that shape. */
    public record Groups(int[] shape, int[] reduce) {
    }

    public Groups groups(InputKind k, int[] shape) {
        int ch = k.channelAxis(), r = shape.length;
        return switch (axes) {
            case BATCH -> new Groups(shape, k.allButChannel());
            case SAMPLE -> new Groups(shape, k.isRnn() ? new int[]{ch} : IntStream.range(1, r).toArray());
            case CHANNELS -> new Groups(shape, new int[]{ch});
            case INSTANCE -> new Groups(shape, IntStream.range(1, r).filter(a -> a != ch).toArray());
            case GROUPS -> {
                int[] s = new int[r + 1];
                for (int a = 0, b = 0; a < r; a++) {
                    if (a == ch) {
                        s[b++] = groups;
                        s[b++] = shape[a] / groups;
                    } else {
                        s[b++] = shape[a];
                    }
                }
                yield new Groups(s, IntStream.range(1, r + 1).filter(a -> a != ch).toArray());
            }
            case NONE -> new Groups(shape, new int[0]);
        };
    }

    @Override
    public Expected compute(Input in) {
        double[] dyPre = in.dy();
        if (in.training() && !(conf.activation() instanceof ActivationIdentity)) {
            if (!(conf.activation() instanceof ActivationTanH)) throw new IllegalStateException("reference: identity or tanh only");
            double[] pre = core(in, null).y();           // the pre-activation, for tanh' = 1 − tanh²
            dyPre = new double[pre.length];
            for (int i = 0; i < pre.length; i++) dyPre[i] = in.dy()[i] * (1 - Math.tanh(pre[i]) * Math.tanh(pre[i]));
        }
        Expected e = core(in, dyPre);
        return new Expected(activation(e.y()), e.dx(), e.paramGradients());
    }

    /** The normalization without the activation; gradients (given dL/d(its output)) in training. */
    private Expected core(Input in, double[] dyPre) {
        int[] shape = Arrays.stream(in.shape()).mapToInt(l -> (int) l).toArray();
        InputKind k = in.kind();
        int c = shape[k.channelAxis()];
        int[] param = Ref.paramIndex(shape, k.channelAxis());
        double[] w = weights(in, shape);
        double[] gamma = conf.isScale() ? (conf.getFixedGamma() != null ? filled(c, conf.getFixedGamma())
                : in.params().get("gamma")) : null;
        double[] beta = conf.isBias() ? (conf.getFixedBeta() != null ? filled(c, conf.getFixedBeta())
                : in.params().get("beta")) : null;
        boolean running = conf.hasRunningStats();
        boolean training = in.training();

        double[] pre;       // the output before the activation
        double[] dxPre = null;
        Map<String, double[]> grads = new LinkedHashMap<>();
        boolean grad = training && dyPre != null;
        if (axes == Axes.NONE) {
            double[][] noise = training ? noise(in) : null;
            pre = masked(Ref.noise(in.x(), noise == null ? null : noise[0], noise == null ? null : noise[1]), w);
            if (grad) dxPre = Ref.noiseBackward(noise == null ? null : noise[0], masked(dyPre.clone(), w));
        } else if (running && (!training || conf.isFrozenStatistics() || tooSmall(k, shape))) {
            // the affine map with the running statistics, and its gradient
            double[] mean = conf.isCenter() ? in.params().get("mean") : null, var = in.params().get("var");
            pre = new double[in.x().length];
            double[] dg = new double[c], db = new double[c];
            dxPre = new double[pre.length];
            for (int i = 0; i < pre.length; i++) {
                int p = param[i];
                double rstd = 1 / Math.sqrt(var[p] + conf.getEps());
                double xhat = (in.x()[i] - (mean == null ? 0 : mean[p])) * rstd;
                double wi = w == null ? 1 : w[i];
                pre[i] = wi * ((gamma == null ? 1 : gamma[p]) * xhat + (beta == null ? 0 : beta[p]));
                if (grad) {
                    double g = wi * dyPre[i];
                    dxPre[i] = g * (gamma == null ? 1 : gamma[p]) * rstd;
                    dg[p] += g * xhat;
                    db[p] += g;
                }
            }
            if (grad) putGradients(grads, dg, db);
        } else {
            Trained t = trained(in, k, shape, param, c, w, gamma, beta, grad ? dyPre : null, training);
            pre = t.y();
            dxPre = t.dx();
            if (grad) putGradients(grads, t.dgamma(), t.dbeta());
        }
        return new Expected(pre, grad ? dxPre : null, grad ? grads : null);
    }

    private void putGradients(Map<String, double[]> grads, double[] dg, double[] db) {
        if (conf.learnsGamma()) grads.put("gamma", dg);
        if (conf.learnsBeta()) grads.put("beta", db);
    }

    /** True if a training batch without a mask has fewer values per group than the statistic needs. */
    private boolean tooSmall(InputKind k, int[] shape) {
        Groups g = groups(k, shape);
        int m = 1;
        for (int a : g.reduce()) m *= g.shape()[a];
        if (conf.getVirtualBatchSize() > 0) {
            int[] b = Ref.ghostGroups(shape[0], conf.getVirtualBatchSize());
            int smallest = Integer.MAX_VALUE;
            for (int j = 0; j + 1 < b.length; j++) smallest = Math.min(smallest, b[j + 1] - b[j]);
            m = m / shape[0] * smallest;
        }
        return m < minCount();
    }

    private record Trained(double[] y, double[] dx, double[] dgamma, double[] dbeta) {
    }

    /**
     * The batch statistics of a training forward, per ghost batch in order (one entry without ghost batches): the
     * groups' mean, variance equivalent and count, as the running statistics receive them.
     */
    public java.util.List<Ref.Fwd> batchStatistics(Input in) {
        int[] shape = Arrays.stream(in.shape()).mapToInt(l -> (int) l).toArray();
        InputKind k = in.kind();
        int[] param = Ref.paramIndex(shape, k.channelAxis());
        double[] w = weights(in, shape);
        int c = shape[k.channelAxis()];
        int[] bounds = conf.getVirtualBatchSize() > 0 ? Ref.ghostGroups(shape[0], conf.getVirtualBatchSize())
                : new int[]{0, shape[0]};
        int inner = in.x().length / shape[0];
        java.util.List<Ref.Fwd> out = new java.util.ArrayList<>();
        for (int j = 0; j + 1 < bounds.length; j++) {
            int lo = bounds[j] * inner, hi = bounds[j + 1] * inner;
            int[] sh = shape.clone();
            sh[0] = bounds[j + 1] - bounds[j];
            Groups g = groups(k, sh);
            out.add(Ref.forward(Arrays.copyOfRange(in.x(), lo, hi), g.shape(), g.reduce(), Arrays.copyOfRange(param, lo, hi),
                    c, w == null ? null : Arrays.copyOfRange(w, lo, hi), null, null, stat(), conf.getEps(),
                    null, null, false, new Ref.Options(conf.isCenter(), null, null, null, null, null)));
        }
        return out;
    }

    /** Batch statistics (ghost batches in training), with the fallback, renormalization and noise. */
    private Trained trained(Input in, InputKind k, int[] shape, int[] param, int c, double[] w, double[] gamma,
                            double[] beta, double[] dy, boolean training) {
        int[] bounds = training && conf.getVirtualBatchSize() > 0 ? Ref.ghostGroups(shape[0], conf.getVirtualBatchSize())
                : new int[]{0, shape[0]};
        double[][] noise = training ? noise(in) : null;
        boolean before = conf.isNoiseBeforeAffine();
        int inner = in.x().length / shape[0];
        double[] y = new double[in.x().length], dx = new double[y.length], dg = new double[c], db = new double[c];
        Ref.Stat stat = stat();
        for (int j = 0; j + 1 < bounds.length; j++) {
            int lo = bounds[j] * inner, hi = bounds[j + 1] * inner;
            int[] sh = shape.clone();
            sh[0] = bounds[j + 1] - bounds[j];
            Groups g = groups(k, sh);
            double[] x = Arrays.copyOfRange(in.x(), lo, hi);
            int[] p = Arrays.copyOfRange(param, lo, hi);
            double[] ws = w == null ? null : Arrays.copyOfRange(w, lo, hi);
            double[] s = noise == null ? null : Arrays.copyOfRange(noise[0], lo, hi);
            double[] m = noise == null ? null : Arrays.copyOfRange(noise[1], lo, hi);
            Ref.Options o = new Ref.Options(conf.isCenter(), null, null, null, null, null);
            Ref.Fwd first = Ref.forward(x, g.shape(), g.reduce(), p, c, ws, gamma, beta, stat, conf.getEps(), s, m, before, o);
            o = options(in, first, g, p);
            Ref.Fwd f = Ref.forward(x, g.shape(), g.reduce(), p, c, ws, gamma, beta, stat, conf.getEps(), s, m, before, o);
            System.arraycopy(f.y(), 0, y, lo, hi - lo);
            if (dy != null) {
                Ref.Bwd b = Ref.backward(x, g.shape(), g.reduce(), p, c, ws, gamma, beta, stat, conf.getEps(), s, m, before,
                        Arrays.copyOfRange(dy, lo, hi), o);
                System.arraycopy(b.dx(), 0, dx, lo, hi - lo);
                for (int q = 0; q < c; q++) {
                    dg[q] += b.dgamma()[q];
                    db[q] += b.dbeta()[q];
                }
            }
        }
        return new Trained(y, dx, dg, db);
    }

    /**
     * The fallback (groups with too few values use the running statistics, layers with running statistics only) and
     * batch renormalization's r = clip(σ_B/σ, 1/r_max, r_max), d = clip((μ_B − μ)/σ, ±d_max) per group.
     */
    private Ref.Options options(Input in, Ref.Fwd f, Groups g, int[] param) {
        if (!conf.hasRunningStats()) return new Ref.Options(conf.isCenter(), null, null, null, null, null);
        int ng = f.v().length;
        double[] runMean = conf.isCenter() ? in.params().get("mean") : null, runVar = in.params().get("var");
        // the feature of each group: the parameter index of any of its elements
        int[] feature = new int[ng];
        int[] group = Ref.groupIndex(g.shape(), g.reduce());
        for (int i = 0; i < group.length; i++) feature[group[i]] = param[i];
        boolean[] frozen = new boolean[ng];
        double[] fm = new double[ng], fv = new double[ng];
        boolean any = false;
        for (int q = 0; q < ng; q++) {
            fm[q] = runMean == null ? 0 : runMean[feature[q]];
            fv[q] = runVar[feature[q]];
            frozen[q] = f.count()[q] < minCount();
            any |= frozen[q];
        }
        double[] r = null, d = null;
        if (conf instanceof BatchRenorm br) {
            long steps = Math.round(in.params().get("steps")[0]);
            double rMax = br.rMaxAt(steps), dMax = br.dMaxAt(steps);
            r = new double[ng];
            d = conf.isCenter() ? new double[ng] : null;
            for (int q = 0; q < ng; q++) {
                if (frozen[q]) {
                    r[q] = 1;
                    continue;
                }
                double sigma = Math.sqrt(fv[q] + conf.getEps()), sigmaB = Math.sqrt(f.v()[q] + conf.getEps());
                r[q] = Math.max(Math.min(sigmaB / sigma, rMax), 1 / rMax);
                if (d != null) d[q] = Math.max(Math.min((f.mean()[q] - fm[q]) / sigma, dMax), -dMax);
            }
        }
        return new Ref.Options(conf.isCenter(), any ? frozen : null, fm, fv, r, d);
    }

    private double[][] noise(Input in) {
        if (conf.getNoise() == null) return null;
        INDArray[] sm = ((NormLayerImpl) in.layer()).noise(view(in.kind(), in.shape()));
        return new double[][]{values(sm[0]), values(sm[1])};
    }

    /** The layer's 4-D view [N, P, C, Q] of an input, as its documentation defines it. */
    private static long[] view(InputKind k, long[] s) {
        long n = s[0];
        long c = s[k.channelAxis()];
        long positions = 1;
        for (int a = 1; a < s.length; a++) if (a != k.channelAxis()) positions *= s[a];
        return k.channelsFirst() ? new long[]{n, 1, c, positions} : new long[]{n, positions, c, 1};
    }

    private static double[] values(INDArray a) {
        return a.dup('c').reshape(a.length()).toDoubleVector();
    }

    /** The RNN mask broadcast to the input's shape, or null. */
    private static double[] weights(Input in, int[] shape) {
        if (in.mask() == null) return null;
        InputKind k = in.kind();
        int n = shape[0], t = shape[k.timeAxis()];
        double[] w = new double[in.x().length];
        int[] st = Ref.strides(shape);
        for (int i = 0; i < w.length; i++) {
            int ni = i / st[0], ti = (i / st[k.timeAxis()]) % t;
            w[i] = in.mask()[ni * t + ti];
        }
        return w;
    }

    private static double[] masked(double[] a, double[] w) {
        if (w != null) for (int i = 0; i < a.length; i++) a[i] *= w[i];
        return a;
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        Arrays.fill(a, v);
        return a;
    }

    private double[] activation(double[] z) {
        if (conf.activation() instanceof ActivationIdentity) return z;
        if (!(conf.activation() instanceof ActivationTanH)) throw new IllegalStateException("reference: identity or tanh only");
        return Arrays.stream(z).map(Math::tanh).toArray();
    }

    /** The documented running-statistics rule, applied in place to the batch statistics of a step; returns the new count of statistics that entered. */
    public static long updateRunning(AbstractNormLayer conf, int minCount, double[] mean, double[] var, long t, List<Ref.Fwd> batches) {
        int c = var.length;
        for (Ref.Fwd f : batches) {
            int groups = f.v().length;
            double[] sm = new double[c], sv = new double[c];
            int[] n = new int[c];
            boolean averaged = conf.averagesGroups();
            boolean any = false;
            for (int q = 0; q < groups; q++) {
                int j = q % c;
                double m = f.count()[q];
                if (m < minCount) continue;
                double v = conf.isCenter() ? f.v()[q] * m / (m - 1) : f.v()[q];
                if (averaged) {
                    sm[j] += f.mean()[q];
                    sv[j] += v;
                    n[j]++;
                } else {
                    apply(conf, mean, var, j, f.mean()[q], v, t);
                    any = true;
                }
            }
            if (averaged) {
                for (int j = 0; j < c; j++) {
                    if (n[j] == 0) continue;
                    apply(conf, mean, var, j, sm[j] / n[j], sv[j] / n[j], t);
                    any = true;
                }
            }
            if (any) t++;
        }
        return t;
    }

    private static void apply(AbstractNormLayer conf, double[] mean, double[] var, int j, double bm, double bv, long t) {
        double d = conf.getDecay();
        if (conf.isCumulative()) {
            if (mean != null) mean[j] = mean[j] + (bm - mean[j]) / (t + 1);
            var[j] = var[j] + (bv - var[j]) / (t + 1);
        } else {
            if (mean != null) mean[j] = d * mean[j] + (1 - d) * bm;
            var[j] = d * var[j] + (1 - d) * bv;
        }
    }
}
