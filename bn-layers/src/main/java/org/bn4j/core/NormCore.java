package org.bn4j.core;

import org.bn4j.exec.CompiledGraph;
import org.bn4j.exec.GraphInputs;
import org.bn4j.exec.Scratch;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.factory.Nd4j;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The one normalization core: builds the forward, backward and inference graphs of a {@link NormSpec} on a
 * {@link Layout}, as SameDiff graphs. Every activation-normalizing layer of the library is this core with its own
 * spec and layout.
 *
 * <h2>Forward (training)</h2>
 * With optional mask weights w (1 inside, 0 at masked positions; all 1 without a mask), per statistics group:
 * <pre>
 *   m = Σ w,   μ = Σ w·x / m,   u = x − μ  (u = x without centring),   v = statistic(w·u)
 *   (fallback: where m &lt; minCount, μ and v are the running statistics instead)
 *   d = sqrt(v + ε),   x̂ = u / d
 *   renormalization: x̂ ← x̂·r + δ,  r = clip(d / sqrt(v_run + ε), 1/r_max, r_max),  δ = clip((μ − μ_run)/sqrt(v_run + ε), ±d_max)
 *   z = x̂                 or  s ⊙ x̂ + n   (noise before the affine map)
 *   a = γ ⊙ z + β          (γ, β each optional)
 *   y = w ⊙ a              or  w ⊙ (s ⊙ a + n)   (noise after the affine map)
 * </pre>
 * <h2>Backward (hand-written, complete: the statistics depend on x)</h2>
 * <pre>
 *   g = w ⊙ dy;  g_a = g (or s ⊙ g with noise after);   dβ = Σ g_a,   dγ = Σ g_a ⊙ z
 *   g' = ∂L/∂x̂ = γ ⊙ g_a (times s with noise before, times r with renormalization)
 *   du = g'/d − (Σ_group g'·x̂) / (2 d²) · ∂v/∂u
 *   dx = du − w · Σ_group du / m        (dx = du without centring)
 * </pre>
 * r, δ and the noise are constants for the gradient; in a fallback group the two correction terms vanish (its
 * statistics are constants). For the variance, ∂v/∂u = 2u/m and this is {@code dx = (γ/d)(g − mean(g) − x̂·mean(g·x̂))}.
 * <h2>Inference, and training with frozen statistics</h2>
 * {@code y = γ (x − μ_run)/sqrt(v_run + ε) + β}, for layers with running statistics; its gradient
 * {@code dx = γ/sqrt(v_run + ε) · g} ({@link #frozenBackward}). The mean is subtracted first so that large offsets do
 * not cancel.
 */
public final class NormCore {
    public static final String X = "x", W = "w", GAMMA = "gamma", BETA = "beta", NOISE_S = "noiseS",
            NOISE_M = "noiseM", DY = "dy", Y = "y", MEAN = "mean", V = "v", COUNT = "count", DX = "dx",
            DGAMMA = "dgamma", DBETA = "dbeta", MEAN_RUN = "meanRun", V_RUN = "vRun", R_MAX = "rMax", D_MAX = "dMax",
            RENORM_R = "renormR", RENORM_D = "renormD";

    private NormCore() {
    }

    /**
     * The graphs of one spec on one (simplified) layout and data type, built when first asked for and sharing their
     * intermediate buffers (they never run at the same time).
     */
    public static final class Graphs implements AutoCloseable {
        private final NormSpec spec;
        private final Layout layout;
        private final DataType dt;
        private final Scratch scratch = new Scratch();
        private CompiledGraph train, backward, inference, frozenBackward;

        Graphs(NormSpec spec, Layout layout, DataType dt) {
            this.spec = spec;
            this.layout = layout;
            this.dt = dt;
        }

        /** Training forward with batch statistics. */
        public synchronized CompiledGraph train() {
            if (train == null) train = detached(() -> forward(spec, layout, dt, scratch));
            return train;
        }

        /** Backward of {@link #train()}. */
        public synchronized CompiledGraph backward() {
            if (backward == null) backward = detached(() -> NormCore.backward(spec, layout, dt, scratch));
            return backward;
        }

        /** The affine map with the running statistics (inference, or training with frozen statistics). */
        public synchronized CompiledGraph inference() {
            if (inference == null) inference = detached(() -> NormCore.inference(spec, layout, dt, scratch));
            return inference;
        }

        /** Backward of {@link #inference()}. */
        public synchronized CompiledGraph frozenBackward() {
            if (frozenBackward == null) frozenBackward = detached(() -> NormCore.frozenBackward(spec, layout, dt, scratch));
            return frozenBackward;
        }

        /** Builds a graph outside any workspace (its constants live as long as the graph). */
        private static CompiledGraph detached(java.util.function.Supplier<CompiledGraph> build) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                return build.get();
            }
        }

        /** Releases the intermediate buffers; the graphs must not run afterwards. */
        @Override
        public synchronized void close() {
            scratch.close();
            train = backward = inference = frozenBackward = null;
        }
    }

    /** The graphs of one spec on one layout, built on demand. */
    public static Graphs graphs(NormSpec spec, Layout layout, DataType dt) {
        return new Graphs(spec, layout, dt);
    }

    /** The placeholders of the parameters: γ and β (null where absent). */
    private static SDVariable[] gammaBeta(GraphInputs in, NormSpec spec, Layout layout) {
        SDVariable gamma = spec.scale() ? in.ph(GAMMA, layout.paramShape()) : null;
        SDVariable beta = spec.bias() ? in.ph(BETA, layout.paramShape()) : null;
        return new SDVariable[]{gamma, beta};
    }

    /**
     * Training forward: inputs x [w] [gamma] [beta] [noiseS noiseM] [meanRun] [vRun] [rMax dMax]; outputs y
     * [mean] [v] [count] [the statistic's state] [renormR] [renormD].
     */
    public static CompiledGraph forward(NormSpec spec, Layout layout, DataType dt) {
        return forward(spec, layout, dt, new Scratch());
    }

    static CompiledGraph forward(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, layout.shape());
        SDVariable w = layout.maskShape() == null ? null : in.ph(W, layout.maskShape());
        SDVariable[] gb = gammaBeta(in, spec, layout);
        SDVariable gamma = gb[0], beta = gb[1];
        SDVariable s = spec.noisy() ? in.ph(NOISE_S, layout.shape()) : null;
        SDVariable n = spec.noisy() ? in.ph(NOISE_M, layout.shape()) : null;
        SDVariable meanRun = spec.readsRunningStats() && spec.center() ? in.ph(MEAN_RUN, layout.paramShape()) : null;
        SDVariable vRun = spec.readsRunningStats() ? in.ph(V_RUN, layout.paramShape()) : null;
        long[] ones = ones(layout.rank());
        SDVariable rMax = spec.renorm() ? in.ph(R_MAX, ones) : null;
        SDVariable dMax = spec.renorm() && spec.center() ? in.ph(D_MAX, ones) : null;
        List<String> outs = new ArrayList<>(List.of(Y));

        SDVariable xhat = x;
        SDVariable a = null;
        if (spec.normalizes()) {
            Reductions red = reductions(sd, layout, dt);
            SDVariable rawCount = w == null ? null : red.sumBroadcast(w, layout.maskShape());
            // with nothing reduced (groups of one value) the count is the mask itself: an output needs a variable of its own
            if (rawCount == w && w != null) rawCount = sd.identity(w);
            SDVariable count = divisor(sd, layout, rawCount, dt);
            SDVariable live = spec.fallback() && w != null ? live(sd, spec, rawCount) : null;
            SDVariable mean = null, u = x;
            if (spec.center()) {
                mean = red.sum(w == null ? x : x.mul(w)).div(count);
                if (live != null) mean = mix(mean, meanRun, live);
                u = x.sub(mean);
            }
            SDVariable v = spec.statistic().v(sd, red, w == null ? u : u.mul(w), count, w != null);
            if (live != null) v = mix(v, vRun, live);
            SDVariable rstd = sd.math.rsqrt(v.add(spec.eps()));
            // per group: x̂ = u·k + b with k = rstd (·r) and b = δ (renormalization) or none
            SDVariable k = rstd, b = null;
            if (spec.renorm()) {
                SDVariable rstdRun = sd.math.rsqrt(vRun.add(spec.eps()));
                SDVariable r = sd.math.max(sd.math.min(rstdRun.div(rstd), rMax), rMax.rdiv(1.0));
                k = rstd.mul(r);
                r.rename(RENORM_R);
                outs.add(RENORM_R);
                if (spec.center()) {
                    SDVariable delta = sd.math.max(sd.math.min(mean.sub(meanRun).mul(rstdRun), dMax), dMax.neg());
                    b = delta;
                    delta.rename(RENORM_D);
                    outs.add(RENORM_D);
                }
            }
            if (spec.noise() != NormSpec.Noise.BEFORE_AFFINE && smallScale(layout)) {
                // γ ⊙ (u ⊙ k + b) + β as u ⊙ (γ ⊙ k) + (γ ⊙ b + β): per-group-and-feature factors first, one pass over u
                SDVariable gk = gamma == null ? k : k.mul(gamma);
                SDVariable gbias = b == null ? null : gamma == null ? b : b.mul(gamma);
                if (beta != null) gbias = gbias == null ? beta : gbias.add(beta);
                a = gbias == null ? u.mul(gk) : u.mul(gk).add(gbias);
            } else {
                xhat = b == null ? u.mul(k) : u.mul(k).add(b);
            }
            if (mean != null) {
                mean.rename(MEAN);
                outs.add(MEAN);
            }
            v.rename(V);
            outs.add(V);
            if (spec.statistic().state() != null) outs.add(spec.statistic().state());
            if (w != null) {
                rawCount.rename(COUNT);
                outs.add(COUNT);
            }
        }
        if (a == null) {
            SDVariable z = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? xhat.mul(s).add(n) : xhat;
            a = affine(z, gamma, beta);
        }
        SDVariable y = spec.noise() == NormSpec.Noise.AFTER_AFFINE ? a.mul(s).add(n) : a;
        if (w != null) y = y.mul(w);
        if (y == x) y = sd.identity(x);
        y.rename(Y);
        return new CompiledGraph(sd, in.names(), outs, scratch);
    }

    /**
     * Backward of {@link #forward}: inputs x dy [w] [gamma] [noiseS] [noiseM, noise before the affine map] [mean] [v]
     * [count] [the statistic's state] [renormR] [renormD]; outputs dx [dgamma] [dbeta].
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
        SDVariable gamma = spec.scale() ? in.ph(GAMMA, layout.paramShape()) : null;
        SDVariable s = spec.noisy() ? in.ph(NOISE_S, layout.shape()) : null;
        SDVariable n = spec.noise() == NormSpec.Noise.BEFORE_AFFINE ? in.ph(NOISE_M, layout.shape()) : null;
        List<String> outs = new ArrayList<>(List.of(DX));

        SDVariable g = w == null ? dy : dy.mul(w);
        SDVariable ga = spec.noise() == NormSpec.Noise.AFTER_AFFINE ? g.mul(s) : g;

        SDVariable v = null, rstd = null, count = null, u = x, mean = null, state = null, r = null, delta = null, live = null;
        Reductions red = null;
        if (spec.normalizes()) {
            red = reductions(sd, layout, dt);
            long[] st = layout.statsShape();
            if (spec.center()) {
                mean = in.ph(MEAN, st);
                u = x.sub(mean);
            }
            v = in.ph(V, st);
            if (spec.statistic().state() != null) state = in.ph(spec.statistic().state(), st);
            SDVariable rawCount = w == null ? null : in.ph(COUNT, layout.countShape());
            count = divisor(sd, layout, rawCount, dt);
            if (spec.fallback() && w != null) live = live(sd, spec, rawCount);
            if (spec.renorm()) {
                r = in.ph(RENORM_R, st);
                if (spec.center()) delta = in.ph(RENORM_D, st);
            }
            rstd = sd.math.rsqrt(v.add(spec.eps()));
        }
        // With statistics per feature (batch norm) and γ applied straight to x̂, the sums over a group are sums over
        // a feature: Σ g_a ⊙ x̂ = rstd · Σ g_a ⊙ u, Σ g' ⊙ u = γ r · Σ g_a ⊙ u and Σ g' = γ r · Σ g_a, so two sums
        // serve dγ, dβ and dx, and γ, r, rstd combine per feature before they touch a full-size array.
        boolean perFeature = spec.normalizes() && spec.noise() != NormSpec.Noise.BEFORE_AFFINE && layout.statsPerFeature();
        SDVariable sumGa = null, sumGaU = null;
        if (perFeature) {
            sumGa = red.sum(ga);
            sumGaU = red.sum(ga.mul(u));
        }
        if (spec.scale() || spec.bias()) {
            SDVariable dgamma = null, dbeta;
            if (perFeature) {
                if (spec.scale()) {
                    SDVariable rk = r == null ? rstd : rstd.mul(r);
                    dgamma = sumGaU.mul(rk);
                    if (delta != null) dgamma = dgamma.add(sumGa.mul(delta));
                }
                dbeta = sumGa;
            } else {
                Reductions pred = new Reductions(sd, layout.shape(), layout.paramReduce(), dt);
                if (spec.scale()) {
                    SDVariable z = x;
                    if (spec.normalizes()) {
                        z = u.mul(r == null ? rstd : rstd.mul(r));
                        if (delta != null) z = z.add(delta);
                    }
                    if (spec.noise() == NormSpec.Noise.BEFORE_AFFINE) z = z.mul(s).add(n);
                    dgamma = pred.sum(ga.mul(z));
                }
                dbeta = pred.sum(ga);
            }
            if (dgamma != null) {
                dgamma.rename(DGAMMA);
                outs.add(DGAMMA);
            }
            if (spec.bias()) {
                dbeta.rename(DBETA);
                outs.add(DBETA);
            }
        }
        // the per-group factor between g_a and g' = ∂L/∂x̂: γ (·r), as one small array; s applies elementwise
        SDVariable factor = gamma;
        if (r != null) factor = factor == null ? r : factor.mul(r);
        SDVariable gx = null;
        if (!perFeature) {
            gx = factor == null ? ga : ga.mul(factor);
            if (spec.noise() == NormSpec.Noise.BEFORE_AFFINE) gx = gx.mul(s);
        }

        SDVariable dx;
        if (!spec.normalizes()) {
            dx = gx;
        } else {
            Statistic stat = spec.statistic();
            SDVariable uw = w == null ? u : u.mul(w);
            // c = -(Σ g'·x̂) / (2 d²) = -(Σ g'·u) · rstd³ / 2
            SDVariable sumGxU = perFeature ? (factor == null ? sumGaU : sumGaU.mul(factor)) : red.sum(gx.mul(u));
            SDVariable c = sumGxU.mul(rstd.mul(rstd).mul(rstd)).mul(-0.5);
            if (live != null) c = c.mul(live);
            SDVariable dvdu = stat.dvdu(sd, red, uw, w, mean, v, count, state);
            if (w != null) dvdu = dvdu.mul(w);
            // g' ⊙ rstd, with g' = g_a ⊙ factor per feature: g_a ⊙ (factor ⊙ rstd)
            SDVariable gxRstd = perFeature ? ga.mul(factor == null ? rstd : factor.mul(rstd)) : gx.mul(rstd);
            SDVariable du = gxRstd.add(dvdu.mul(c));
            if (spec.center()) {
                SDVariable meanDu;
                if (stat.dvduSumsToZero()) {
                    SDVariable sumGx = perFeature ? (factor == null ? sumGa : sumGa.mul(factor)) : red.sum(gx);
                    meanDu = sumGx.mul(rstd).div(count);
                } else {
                    meanDu = red.sum(du).div(count);
                }
                if (live != null) meanDu = meanDu.mul(live);
                dx = du.sub(w == null ? meanDu : meanDu.mul(w));
            } else {
                dx = du;
            }
        }
        if (dx == dy) dx = sd.identity(dy);
        dx.rename(DX);
        return new CompiledGraph(sd, in.names(), outs, scratch);
    }

    /**
     * Inference (and training with frozen statistics): inputs x [w] [gamma] [beta] [meanRun] vRun; output
     * y = γ (x − μ_run)/sqrt(v_run + ε) + β (no mean without centring).
     */
    public static CompiledGraph inference(NormSpec spec, Layout layout, DataType dt) {
        return inference(spec, layout, dt, new Scratch());
    }

    static CompiledGraph inference(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, layout.shape());
        SDVariable w = layout.maskShape() == null ? null : in.ph(W, layout.maskShape());
        SDVariable[] gb = gammaBeta(in, spec, layout);
        SDVariable meanRun = spec.center() ? in.ph(MEAN_RUN, layout.paramShape()) : null;
        SDVariable vRun = in.ph(V_RUN, layout.paramShape());
        // a per-feature affine map of the centred input: (x − μ)·k + β, k = γ/sqrt(v+ε)
        SDVariable k = sd.math.rsqrt(vRun.add(spec.eps()));
        if (gb[0] != null) k = k.mul(gb[0]);
        SDVariable y = (meanRun == null ? x : x.sub(meanRun)).mul(k);
        if (gb[1] != null) y = y.add(gb[1]);
        if (w != null) y = y.mul(w);
        y.rename(Y);
        return new CompiledGraph(sd, in.names(), List.of(Y), scratch);
    }

    /**
     * Backward of {@link #inference}: inputs x dy [w] [gamma] [meanRun] vRun; outputs dx = γ/sqrt(v_run + ε)·w·dy
     * [dgamma = Σ w·dy·x̂] [dbeta = Σ w·dy], with x̂ = (x − μ_run)/sqrt(v_run + ε).
     */
    public static CompiledGraph frozenBackward(NormSpec spec, Layout layout, DataType dt) {
        return frozenBackward(spec, layout, dt, new Scratch());
    }

    static CompiledGraph frozenBackward(NormSpec spec, Layout layout, DataType dt, Scratch scratch) {
        GraphInputs in = new GraphInputs(dt);
        SameDiff sd = in.sd();
        SDVariable x = in.ph(X, layout.shape());
        SDVariable dy = in.ph(DY, layout.shape());
        SDVariable w = layout.maskShape() == null ? null : in.ph(W, layout.maskShape());
        SDVariable gamma = spec.scale() ? in.ph(GAMMA, layout.paramShape()) : null;
        SDVariable meanRun = spec.center() ? in.ph(MEAN_RUN, layout.paramShape()) : null;
        SDVariable vRun = in.ph(V_RUN, layout.paramShape());
        List<String> outs = new ArrayList<>(List.of(DX));
        SDVariable g = w == null ? dy : dy.mul(w);
        SDVariable rstd = sd.math.rsqrt(vRun.add(spec.eps()));
        if (spec.scale() || spec.bias()) {
            Reductions pred = new Reductions(sd, layout.shape(), layout.paramReduce(), dt);
            if (spec.scale()) {
                SDVariable u = meanRun == null ? x : x.sub(meanRun);
                SDVariable dgamma = pred.sum(g.mul(u)).mul(rstd);
                dgamma.rename(DGAMMA);
                outs.add(DGAMMA);
            }
            if (spec.bias()) {
                pred.sum(g).rename(DBETA);
                outs.add(DBETA);
            }
        }
        SDVariable dx = g.mul(gamma == null ? rstd : gamma.mul(rstd));
        dx.rename(DX);
        return new CompiledGraph(sd, in.names(), outs, scratch);
    }

    private static SDVariable affine(SDVariable z, SDVariable gamma, SDVariable beta) {
        SDVariable a = gamma == null ? z : z.mul(gamma);
        return beta == null ? a : a.add(beta);
    }

    /** a·live + b·(1 − live): the batch's value where the group is live, the running one elsewhere. */
    private static SDVariable mix(SDVariable batch, SDVariable running, SDVariable live) {
        return batch.mul(live).add(running.mul(live.rsub(1.0)));
    }

    /** 1 where a group has at least {@link NormSpec#minCount()} values (Σ w), else 0. */
    private static SDVariable live(SameDiff sd, NormSpec spec, SDVariable rawCount) {
        return sd.math.step(rawCount, spec.minCount() - 0.5);
    }

    /**
     * True if the per-group-and-feature factors (statistics shape broadcast against parameter shape) have at most half
     * the elements of the input, so that forming them first saves a pass over the input.
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

    /** What sums over a group are divided by: its element count, a constant without mask, Σ w (at least 1) with one. */
    private static SDVariable divisor(SameDiff sd, Layout layout, SDVariable rawCount, DataType dt) {
        if (rawCount == null) return scalar(sd, layout.groupSize(), dt);
        return sd.math.max(rawCount, scalar(sd, 1, dt));
    }

    private static SDVariable scalar(SameDiff sd, double value, DataType dt) {
        return sd.constant(Nd4j.scalar(dt, value));
    }

    private static long[] ones(int rank) {
        long[] s = new long[rank];
        Arrays.fill(s, 1);
        return s;
    }
}
