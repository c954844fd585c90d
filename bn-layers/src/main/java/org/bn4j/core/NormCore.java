package org.bn4j.core;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.exec.GraphInputs;
import org.bn4j.exec.Scratch;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.List;

/**
 * The one normalization core: builds the forward, backward and inference graphs of a {@link NormSpec} on a
 * {@link Layout}, as SameDiff graphs. Every layer of the library is this core with its own spec and layout.
 *
 * <h2>Forward (training)</h2>
 * With optional mask weights w (1 inside, 0 at masked positions; all 1 without a mask), per statistics group:
 * <pre>
 *   m = Σ w,   μ = Σ w·x / m,   u = x − μ,   v = statistic(w·u)       (variance: v = Σ w·u² / m)
 *   d = sqrt(v + ε),   x̂ = u / d
 *   z = x̂                 or  s ⊙ x̂ + n   (noise before the affine map)
 *   a = γ ⊙ z + β          or  z          (no affine)
 *   y = w ⊙ a              or  w ⊙ (s ⊙ a + n)   (noise after the affine map)
 * </pre>
 * <h2>Backward (hand-written, complete: the statistics depend on x)</h2>
 * <pre>
 *   g = w ⊙ dy;  g_a = g (or s ⊙ g with noise after);   dβ = Σ g_a,   dγ = Σ g_a ⊙ z
 *   g' = ∂L/∂x̂ = γ ⊙ g_a (times s with noise before)
 *   du = g'/d − (Σ_group g'·x̂) / (2 d²) · ∂v/∂u
 *   dx = du − w · Σ_group du / m
 * </pre>
 * For the variance, ∂v/∂u = 2u/m and this is {@code dx = (γ/d)(g − mean(g) − x̂·mean(g·x̂))}.
 * <h2>Inference</h2>
 * {@code y = γ (x − μ_run)/sqrt(v_run + ε) + β}, for layouts whose statistics are per feature.
 */
public final class NormCore {
    public static final String X = "x", W = "w", GAMMA = "gamma", BETA = "beta", NOISE_S = "noiseS",
            NOISE_M = "noiseM", DY = "dy", Y = "y", MEAN = "mean", V = "v", COUNT = "count", DX = "dx",
            DGAMMA = "dgamma", DBETA = "dbeta", MEAN_RUN = "meanRun", V_RUN = "vRun";

    private NormCore() {
    }

    /** The graphs of one spec on one (simplified) layout and data type. */
    public record Graphs(CompiledGraph train, CompiledGraph backward, CompiledGraph inference) {
    }

    /** The three graphs, sharing their intermediate buffers (they never run at the same time). */
    public static Graphs build(NormSpec spec, Layout layout, DataType dt) {
        Scratch scratch = new Scratch();
        CompiledGraph inference = spec.normalizes() && layout.statsPerFeature() ? inference(spec, layout, dt, scratch) : null;
        return new Graphs(forward(spec, layout, dt, scratch), backward(spec, layout, dt, scratch), inference);
    }

    /** The placeholders forward and inference share: x, the mask w, γ, β (null where absent). */
    private static SDVariable[] xMaskGammaBeta(GraphInputs in, NormSpec spec, Layout layout) {
        SDVariable x = in.ph(X, layout.shape());
        SDVariable w = layout.maskShape() == null ? null : in.ph(W, layout.maskShape());
        SDVariable gamma = spec.affine() ? in.ph(GAMMA, layout.paramShape()) : null;
        SDVariable beta = spec.affine() ? in.ph(BETA, layout.paramShape()) : null;
        return new SDVariable[]{x, w, gamma, beta};
    }

    /** Training forward: inputs x [w] [gamma beta] [noiseS noiseM]; outputs y [mean v count] [the statistic's state]. */
    public static CompiledGraph forward(NormSpec spec, Layout layout, DataType dt) {
        return forward(spec, layout, dt, new Scratch());
    }

    static CompiledGraph forward(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable[] common = xMaskGammaBeta(in, spec, layout);
        SDVariable x = common[0], w = common[1], gamma = common[2], beta = common[3];
        SDVariable s = spec.noisy() ? in.ph(NOISE_S, layout.shape()) : null;
        SDVariable n = spec.noisy() ? in.ph(NOISE_M, layout.shape()) : null;
        List<String> outs = new ArrayList<>(List.of(Y));

        SDVariable xhat = x;
        SDVariable a = null;
        if (spec.normalizes()) {
            Reductions red = reductions(sd, layout, dt);
            SDVariable count = count(sd, red, layout, w);
            SDVariable mean = red.sum(w == null ? x : x.mul(w)).div(count);
            SDVariable u = x.sub(mean);
            SDVariable v = spec.statistic().v(sd, red, w == null ? u : u.mul(w), count);
            SDVariable rstd = sd.math.rsqrt(v.add(spec.eps()));
            if (spec.affine() && spec.noise() != NormSpec.Noise.BEFORE_AFFINE && smallScale(layout)) {
                // γ ⊙ (u ⊙ rstd) + β as u ⊙ (γ ⊙ rstd) + β: the per-group-and-feature scale first, one pass over u
                a = u.mul(rstd.mul(gamma)).add(beta);
            } else {
                xhat = u.mul(rstd);
            }
            mean.rename(MEAN);
            v.rename(V);
            outs.add(MEAN);
            outs.add(V);
            if (spec.statistic().state() != null) outs.add(spec.statistic().state());
            if (w != null) {
                count.rename(COUNT);
                outs.add(COUNT);
            }
        }
        SDVariable z = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? xhat.mul(s).add(n) : xhat;
        if (a == null) a = spec.affine() ? z.mul(gamma).add(beta) : z;
        SDVariable y = spec.noise() == NormSpec.Noise.AFTER_AFFINE ? a.mul(s).add(n) : a;
        if (w != null) y = y.mul(w);
        if (y == x) y = sd.identity(x);
        y.rename(Y);
        return new CompiledGraph(sd, in.names(), outs, scratch);
    }

    /**
     * Backward: inputs x dy [w] [gamma] [noiseS] [noiseM, noise before the affine map] [mean v] [count] [the statistic's state];
     * outputs dx [dgamma dbeta].
     */
    public static CompiledGraph backward(NormSpec spec, Layout layout, DataType dt) {
        return backward(spec, layout, dt, new Scratch());
    }

    static CompiledGraph backward(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, layout.shape());
        SDVariable dy = in.ph(DY, layout.shape());
        SDVariable w = layout.maskShape() == null ? null : in.ph(W, layout.maskShape());
        SDVariable gamma = spec.affine() ? in.ph(GAMMA, layout.paramShape()) : null;
        SDVariable s = spec.noisy() ? in.ph(NOISE_S, layout.shape()) : null;
        SDVariable n = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? in.ph(NOISE_M, layout.shape()) : null;
        List<String> outs = new ArrayList<>(List.of(DX));

        SDVariable g = w == null ? dy : dy.mul(w);
        SDVariable ga = spec.noise() == NormSpec.Noise.AFTER_AFFINE ? g.mul(s) : g;

        SDVariable mean = null, v = null, rstd = null, count = null, u = null, state = null;
        Reductions red = null;
        if (spec.normalizes()) {
            red = reductions(sd, layout, dt);
            mean = in.ph(MEAN, layout.statsShape());
            v = in.ph(V, layout.statsShape());
            if (spec.statistic().state() != null) state = in.ph(spec.statistic().state(), layout.statsShape());
            count = w == null ? scalar(sd, layout.groupSize(), dt) : in.ph(COUNT, countShape(layout));
            rstd = sd.math.rsqrt(v.add(spec.eps()));
            u = x.sub(mean);
        }
        // With statistics per feature (batch norm) and γ applied straight to x̂, the sums over a group are sums over
        // a feature: Σ g_a ⊙ x̂ = rstd · Σ g_a ⊙ u, Σ g' ⊙ u = γ · Σ g_a ⊙ u and Σ g' = γ · Σ g_a, so two sums
        // serve dγ, dβ and dx, and γ, rstd combine per feature before they touch a full-size array.
        boolean perFeature = spec.normalizes() && spec.affine() && spec.noise() != NormSpec.Noise.BEFORE_AFFINE
                && layout.statsPerFeature();
        SDVariable sumGa = null, sumGaU = null;
        if (spec.affine()) {
            SDVariable dgamma, dbeta;
            if (perFeature) {
                sumGa = red.sum(ga);
                sumGaU = red.sum(ga.mul(u));
                dgamma = sumGaU.mul(rstd);
                dbeta = sumGa;
            } else {
                Reductions pred = new Reductions(sd, layout.shape(), paramReduce(layout), dt);
                SDVariable xhat = spec.normalizes() ? u.mul(rstd) : x;
                SDVariable z = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? xhat.mul(s).add(n) : xhat;
                dgamma = pred.sum(ga.mul(z));
                dbeta = pred.sum(ga);
            }
            dgamma.rename(DGAMMA);
            dbeta.rename(DBETA);
            outs.add(DGAMMA);
            outs.add(DBETA);
        }
        SDVariable gx = null;
        if (!perFeature) {
            SDVariable gz = spec.affine() ? ga.mul(gamma) : ga;
            gx = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? gz.mul(s) : gz;
        }

        SDVariable dx;
        if (!spec.normalizes()) {
            dx = gx;
        } else {
            Statistic stat = spec.statistic();
            SDVariable uw = w == null ? u : u.mul(w);
            // c = -(Σ g'·x̂) / (2 d²) = -(Σ g'·u) · rstd³ / 2
            SDVariable sumGxU = perFeature ? sumGaU.mul(gamma) : red.sum(gx.mul(u));
            SDVariable c = sumGxU.mul(rstd.mul(rstd).mul(rstd)).mul(-0.5);
            SDVariable dvdu = stat.dvdu(sd, uw, v, count, state);
            if (w != null) dvdu = dvdu.mul(w);
            // g' ⊙ rstd, with g' = g_a ⊙ γ per feature: g_a ⊙ (γ ⊙ rstd)
            SDVariable gxRstd = perFeature ? ga.mul(gamma.mul(rstd)) : gx.mul(rstd);
            SDVariable du = gxRstd.add(dvdu.mul(c));
            SDVariable meanDu;
            if (stat.dvduSumsToZero()) {
                meanDu = (perFeature ? sumGa.mul(gamma) : red.sum(gx)).mul(rstd).div(count);
            } else {
                meanDu = red.sum(du).div(count);
            }
            dx = du.sub(w == null ? meanDu : meanDu.mul(w));
        }
        if (dx == dy) dx = sd.identity(dy);
        dx.rename(DX);
        return new CompiledGraph(sd, in.names(), outs, scratch);
    }

    /** Inference: inputs x [w] [gamma beta] meanRun vRun; output y = γ (x − μ_run)/sqrt(v_run + ε) + β. */
    public static CompiledGraph inference(NormSpec spec, Layout layout, DataType dt) {
        return inference(spec, layout, dt, new Scratch());
    }

    static CompiledGraph inference(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable[] common = xMaskGammaBeta(in, spec, layout);
        SDVariable x = common[0], w = common[1], gamma = common[2], beta = common[3];
        SDVariable meanRun = in.ph(MEAN_RUN, layout.paramShape());
        SDVariable vRun = in.ph(V_RUN, layout.paramShape());
        // a per-feature affine map y = x·k + b, k = γ/sqrt(v+ε), b = β − μ·k
        SDVariable k = sd.math.rsqrt(vRun.add(spec.eps()));
        if (gamma != null) k = k.mul(gamma);
        SDVariable b = meanRun.mul(k).neg();
        if (beta != null) b = b.add(beta);
        SDVariable y = x.mul(k).add(b);
        if (w != null) y = y.mul(w);
        y.rename(Y);
        return new CompiledGraph(sd, in.names(), List.of(Y), scratch);
    }

    /**
     * True if the scale γ ⊙ rstd (statistics shape broadcast against parameter shape) has at most half the elements
     * of the input, so that forming it first saves a pass over the input.
     */
    private static boolean smallScale(Layout layout) {
        long[] st = layout.statsShape(), p = layout.paramShape();
        long k = 1, full = 1;
        for (int i = 0; i < layout.rank(); i++) {
            k *= Math.max(st[i], p[i]);
            full *= layout.shape()[i];
        }
        return 2 * k <= full;
    }

    private static Reductions reductions(SameDiff sd, Layout layout, DataType dt) {
        return new Reductions(sd, layout.shape(), layout.reduce(), dt);
    }

    private static boolean[] paramReduce(Layout layout) {
        boolean[] r = new boolean[layout.rank()];
        for (int i = 0; i < r.length; i++) r[i] = i != layout.paramAxis();
        return r;
    }

    /** Element count per group: a constant without mask, Σ w (at least 1) with one. */
    private static SDVariable count(SameDiff sd, Reductions red, Layout layout, SDVariable w) {
        if (w == null) return scalar(sd, layout.groupSize(), red.dataType());
        return sd.math.max(red.sumBroadcast(w, layout.maskShape()), scalar(sd, 1, red.dataType()));
    }

    private static SDVariable scalar(SameDiff sd, double value, DataType dt) {
        return sd.constant(Nd4j.scalar(dt, value));
    }

    /** Shape of the per-group counts of a masked layout. */
    static long[] countShape(Layout layout) {
        long[] s = layout.maskShape().clone();
        for (int i = 0; i < s.length; i++) if (layout.reduce()[i]) s[i] = 1;
        return s;
    }
}
