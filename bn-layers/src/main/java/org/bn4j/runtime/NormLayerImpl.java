package org.bn4j.runtime;

import org.bn4j.core.Layout;
import org.bn4j.core.NormCore;
import org.bn4j.core.NormSpec;
import org.bn4j.core.RunningStats;
import org.bn4j.exec.CompiledGraph;
import org.bn4j.exec.Simd;
import org.bn4j.layers.AbstractNormLayer;
import org.bn4j.layers.BatchRenorm;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static org.bn4j.core.NormCore.*;

/**
 * Runtime of every {@link AbstractNormLayer}: maps the input to its layout, runs the core's SameDiff graphs (built once
 * per input shape and cached), applies the activation, and keeps the running statistics.
 *
 * <p>How DL4J drives it, and what it does:
 * <ul>
 *   <li>A training forward normalizes with the batch statistics; the backward that follows is the gradient of that
 *       function and leaves the batch statistics as a pending update of the running statistics.</li>
 *   <li>The pending update is applied once per optimizer step, in {@link #applyConstraints}, which every DL4J
 *       optimizer calls once after its step (SGD and the line-search ones alike), and which DL4J's frozen-layer
 *       wrappers do not pass on. So forward passes, gradient computations ({@code computeGradientAndScore}), gradient
 *       checks and frozen layers never change the running statistics.</li>
 *   <li>An inference forward (and a training forward with frozen statistics, or of a batch too small for statistics)
 *       normalizes with the running statistics, and the backward that follows is the gradient of exactly that affine
 *       map. A backward without a forward is an error.</li>
 *   <li>A training forward whose statistics are not finite is refused before anything is changed.</li>
 *   <li>float16 and bfloat16 networks compute in float32 (statistics, γ, β) and return their own type.</li>
 * </ul>
 */
public class NormLayerImpl extends BaseLayer<AbstractNormLayer> {
    private record Key(NormSpec spec, Layout layout) {
    }

    private final GraphCache<Key, NormCore.Graphs> graphs = new GraphCache<>(GraphCache.CAPACITY);

    /** Whether a forward normalized with the batch's statistics or with the running ones. */
    private enum Mode { BATCH, RUNNING }

    /** One segment of the batch in the last forward: its rows, layout, spec and what the backward reads. */
    private record Segment(long start, long end, int groups, Layout layout, NormSpec spec, Map<String, INDArray> state) {
    }

    /** The last forward pass: its input and mask (by identity), mode and what the backward needs. */
    private record Forward(INDArray input, INDArray mask, boolean training, Mode mode, List<Segment> segments,
                           INDArray preActivation) {
    }

    /**
     * Batch statistics of the last training backward, applied to the running statistics at the optimizer step, and the
     * running statistics they apply to: those of the step's first training backward. DL4J's line-search optimizers
     * (line gradient descent, conjugate gradient, L-BFGS) keep a copy of the parameters from which they set the
     * network's during the step, so the running statistics in the network are those of an earlier step until the step
     * ends; the values taken at the step's first backward are the current ones. A step is known by the input array and
     * the iteration and epoch counts.
     */
    private record Pending(List<Segment> segments, double[] mean, double[] var, long steps, INDArray input, int iteration,
                           int epoch) {
    }

    private Forward last;
    private Pending pending;
    /** The noise arrays {s, m} of the last training step (noisy layers only). */
    private INDArray[] noiseBuffers;
    /** γ and β of a layer that holds them fixed, as arrays (by key). */
    private final Map<String, INDArray> fixed = new HashMap<>();
    /** Parameters and gradient views (by identity) as the layout's shape: see {@link #paramShaped}. */
    private final Map<INDArray, INDArray> paramViews = new IdentityHashMap<>();
    /** Running statistics being recomputed from data ({@link #startRecompute}), or null. */
    private Recompute recompute;

    /** The cumulative average of the batch statistics of the training forwards since {@link #startRecompute}. */
    private static final class Recompute {
        double[] mean, var;
        long steps;
    }

    public NormLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    @Override
    public Type type() {
        return Type.NORMALIZATION;
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    /** The type the graphs compute in: the network's, float32 for float16 and bfloat16. */
    private DataType computeType() {
        return computeType(dataType, layerConf().describe() + " " + layerId());
    }

    /**
     * The type a layer's graphs compute in for a network of type {@code dt}: double and float as they are, float32 for
     * float16 and bfloat16 (the output goes back to the network's type); other types are refused, naming {@code who}.
     */
    static DataType computeType(DataType dt, String who) {
        return switch (dt) {
            case DOUBLE, FLOAT -> dt;
            case HALF, BFLOAT16 -> DataType.FLOAT;
            default -> throw new IllegalStateException(who + ": expected a floating-point network (double, float, half or "
                    + "bfloat16), got " + dt);
        };
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        AbstractNormLayer c = layerConf();
        InputView iv = InputView.of(input, maskArray, c, layerId());
        DataType cdt = computeType();
        INDArray x = input.castTo(cdt);   // reshaped for each segment's layout (from the input's own shape: one view)
        INDArray mask = maskArray == null ? null : shaped(maskArray.castTo(cdt), iv.mask());
        // the graphs write y straight into the activations array (a workspace array, or a detached one)
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, input.dataType(), input.shape(), 'c');
        INDArray y = out.dataType() == cdt ? out : detached(cdt, iv.view());
        Forward f = forward(training, x, mask, iv, y);
        if (recompute != null && f.training() && f.mode() == Mode.BATCH) {
            recompute.steps = enter(runningRule(true), f.segments(), recompute.mean, recompute.var, recompute.steps);
        }
        if (y.dataType() != out.dataType()) out.assign(y.reshape('c', out.shape()));
        IActivation act = c.activation();
        INDArray pre = null;
        if (!(act instanceof ActivationIdentity)) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                pre = out.dup('c');
            }
            act.getActivation(out, training);
        }
        last = new Forward(input, maskArray, training, f.mode(), f.segments(), pre);
        return out;
    }

    /** The forward of one mode: writes y (view shape) if not null; returns what the backward needs. */
    private Forward forward(boolean training, INDArray x, INDArray mask, InputView iv, INDArray y) {
        AbstractNormLayer c = layerConf();
        NormSpec spec = c.normSpec();
        if (!c.hasRunningStats()) {
            if (!training) spec = spec.withNoise(NormSpec.Noise.NONE);
            return new Forward(null, null, training, Mode.BATCH, batchForward(spec, x, mask, iv, training, y), null);
        }
        if (!training || c.isFrozenStatistics() || tooSmall(spec, x, mask, iv)) {
            Layout layout = c.layout(iv.view(), iv.mask(), 1, iv.sequence()).simplify();
            Map<String, INDArray> in = inputs(layout, x, mask);
            putRunning(in, layout);
            Map<String, INDArray> into = y == null ? Map.of() : Map.of(Y, shaped(y, layout.shape()));
            graphs(spec, layout).inference().run(in, into);
            Segment s = new Segment(0, iv.batch(), 1, layout, spec, new HashMap<>());
            return new Forward(null, null, training, Mode.RUNNING, List.of(s), null);
        }
        if (mask != null) spec = spec.withFallback(true);
        return new Forward(null, null, true, Mode.BATCH, batchForward(spec, x, mask, iv, true, y), null);
    }

    /**
     * True if a training batch has fewer values per statistics group than the statistic needs (a batch of one sample),
     * mask or not (a mask only removes values): it is then normalized with the running statistics, or refused
     * ({@link AbstractNormLayer.SmallBatch}). Masked batches are also checked group by group, in the graphs.
     */
    private boolean tooSmall(NormSpec spec, INDArray x, INDArray mask, InputView iv) {
        AbstractNormLayer c = layerConf();
        for (long[] seg : c.segments(iv.batch())) {
            long size = segmentLayout(seg, iv).groupSize();
            if (size >= spec.minCount()) continue;
            if (c.getSmallBatch() == AbstractNormLayer.SmallBatch.ERROR) {
                throw new DL4JInvalidInputException(c.describe() + " " + layerId() + ": training needs at least "
                        + spec.minCount() + " values per statistics group, got " + size + " for input shape "
                        + Arrays.toString(input.shape()) + " (a batch of 1 has no variance; inference with batch 1 is fine;"
                        + " smallBatch(RUNNING_STATS) normalizes such batches with the running statistics)");
            }
            return true;
        }
        return false;
    }

    private Layout segmentLayout(long[] seg, InputView iv) {
        long[] segView = iv.view().clone();
        segView[0] = seg[1] - seg[0];
        long[] segMask = iv.mask() == null ? null : iv.mask().clone();
        if (segMask != null) segMask[0] = seg[1] - seg[0];
        return layerConf().layout(segView, segMask, (int) seg[2], iv.sequence()).simplify();
    }

    /** Runs the batch-statistics forward per segment (ghost batches in training); checks the statistics are finite. */
    private List<Segment> batchForward(NormSpec spec, INDArray x, INDArray mask, InputView iv, boolean training, INDArray y) {
        AbstractNormLayer c = layerConf();
        INDArray[] noise = spec.noisy() ? noise(iv.view()) : null;
        long[][] segs = training ? c.segments(iv.batch()) : new long[][]{{0, iv.batch(), 1}};
        List<Segment> out = new ArrayList<>(segs.length);
        for (long[] seg : segs) {
            Layout layout = segmentLayout(seg, iv);
            Segment s = new Segment(seg[0], seg[1], (int) seg[2], layout, spec, new HashMap<>());
            if (noise != null) {
                s.state().put(NOISE_S, rows(noise[0], s.start(), s.end(), layout.shape()));
                s.state().put(NOISE_M, rows(noise[1], s.start(), s.end(), layout.shape()));
            }
            Map<String, INDArray> in = segmentInputs(s, x, mask);
            if (spec.readsRunningStats()) putRunning(in, layout);
            if (spec.renorm()) putRenormBounds(in, layout);
            Map<String, INDArray> into = y == null ? Map.of() : Map.of(Y, rows(y, s.start(), s.end(), layout.shape()));
            Map<String, INDArray> res = graphs(spec, layout).train().run(in, into);
            res.remove(Y); // the backward needs the statistics, not y
            s.state().putAll(res);
            if (spec.normalizes()) checkStatistics(s, training);
            out.add(s);
        }
        return out;
    }

    /**
     * System property that turns the refusal of non-finite batch statistics off, to measure what the check costs
     * ({@code org.bn4j.bench.FiniteCheckCost}); not meant for training.
     */
    public static final String NO_FINITE_CHECK = "bn4j.noFiniteCheck";

    /** Refuses statistics that are not finite (naming the feature), and in training too-small masked groups if asked. */
    private void checkStatistics(Segment s, boolean training) {
        AbstractNormLayer c = layerConf();
        if (!Boolean.getBoolean(NO_FINITE_CHECK)) checkFinite(s);
        INDArray count = s.state().get(COUNT);
        if (training && count != null && c.hasRunningStats() && c.getSmallBatch() == AbstractNormLayer.SmallBatch.ERROR) {
            double min = count.minNumber().doubleValue();
            if (min < s.spec().minCount()) {
                throw new DL4JInvalidInputException(c.describe() + " " + layerId() + ": training needs at least "
                        + s.spec().minCount() + " unmasked values per statistics group, got a group of " + (long) min
                        + " (mask of input shape " + Arrays.toString(input.shape()) + ")");
            }
        }
    }

    /** Refuses a segment whose statistics (one per feature and group: not the whole input) are not finite. */
    private void checkFinite(Segment s) {
        double[] v = doubles(s.state().get(V));
        double[] mean = s.spec().center() ? doubles(s.state().get(MEAN)) : null;
        long features = s.layout().paramCount();
        for (int i = 0; i < v.length; i++) {
            if (Double.isFinite(v[i]) && (mean == null || Double.isFinite(mean[i]))) continue;
            long feature = i % features, group = i / features;
            throw new DL4JInvalidInputException(layerConf().describe() + " " + layerId() + ": the batch statistics are not finite"
                    + " (mean " + (mean == null ? "-" : mean[i]) + ", variance " + v[i] + ") for feature " + feature
                    + (v.length > features ? " in statistics group " + group : "") + " of input shape "
                    + Arrays.toString(input.shape()) + ": the input holds NaN or infinite values; parameters and running"
                    + " statistics are unchanged");
        }
    }

    /** Graph inputs of a segment: its rows of x and of the mask, γ, β and the kept state. */
    private Map<String, INDArray> segmentInputs(Segment s, INDArray x, INDArray mask) {
        Map<String, INDArray> in = inputs(s.layout(), rows(x, s.start(), s.end(), s.layout().shape()),
                mask == null ? null : rows(mask, s.start(), s.end(), s.layout().maskShape()));
        in.putAll(s.state());
        return in;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        AbstractNormLayer c = layerConf();
        if (!Arrays.equals(epsilon.shape(), input.shape())) {
            throw new DL4JInvalidInputException(c.describe() + " " + layerId() + ": expected an output gradient of shape "
                    + Arrays.toString(input.shape()) + " (the input's), got " + Arrays.toString(epsilon.shape()));
        }
        Forward f = last;
        if (f == null) {
            throw new IllegalStateException(c.describe() + " " + layerId() + ": backpropGradient needs a forward pass of"
                    + " the same input first (activate), none since the layer was cleared");
        }
        InputView iv = InputView.of(input, maskArray, c, layerId());
        DataType cdt = computeType();
        INDArray x = input.castTo(cdt);
        INDArray mask = maskArray == null ? null : shaped(maskArray.castTo(cdt), iv.mask());
        if (f.input() != input || f.mask() != maskArray) {
            // the same kind of forward (training or not) on the input the backward is asked for
            Forward again = forward(f.training(), x, mask, iv, null);
            f = new Forward(input, maskArray, f.training(), again.mode(), again.segments(), f.preActivation());
        }
        INDArray eps = epsilon;
        if (f.preActivation() != null) {
            eps = c.activation().backprop(f.preActivation().dup(), epsilon.dup()).getFirst();
        }
        INDArray dy = eps.castTo(cdt);
        // the graphs write dx straight into the gradient array (a workspace array, or a detached one)
        INDArray epsOut = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, input.dataType(), input.shape(), 'c');
        INDArray dx = epsOut.dataType() == cdt ? epsOut : detached(cdt, iv.view());
        INDArray dGamma = null, dBeta = null;
        boolean oneSegment = f.segments().size() == 1;
        Map<String, INDArray> into = new HashMap<>();
        for (Segment s : f.segments()) {
            Map<String, INDArray> in = segmentInputs(s, x, mask);
            in.put(DY, rows(dy, s.start(), s.end(), s.layout().shape()));
            NormCore.Graphs g = graphs(s.spec(), s.layout());
            if (f.mode() == Mode.RUNNING) putRunning(in, s.layout());
            CompiledGraph bwd = f.mode() == Mode.RUNNING ? g.frozenBackward() : g.backward();
            into.put(DX, rows(dx, s.start(), s.end(), s.layout().shape()));
            if (oneSegment) {   // the parameters' gradients straight into their views (no array made per call)
                putGradientView(into, bwd, DGAMMA, NormParamInitializer.GAMMA, s.layout(), cdt);
                putGradientView(into, bwd, DBETA, NormParamInitializer.BETA, s.layout(), cdt);
            }
            Map<String, INDArray> res = bwd.run(in, into);
            if (res.containsKey(DGAMMA)) dGamma = dGamma == null ? res.get(DGAMMA) : dGamma.add(res.get(DGAMMA));
            if (res.containsKey(DBETA)) dBeta = dBeta == null ? res.get(DBETA) : dBeta.add(res.get(DBETA));
        }
        if (dx.dataType() != epsOut.dataType()) epsOut.assign(dx.reshape('c', epsOut.shape()));

        Gradient g = new DefaultGradient(gradientsFlattened);
        if (c.learnsGamma()) setGradient(g, NormParamInitializer.GAMMA, dGamma, dGamma != null && dGamma == into.get(DGAMMA));
        if (c.learnsBeta()) setGradient(g, NormParamInitializer.BETA, dBeta, dBeta != null && dBeta == into.get(DBETA));
        for (String key : List.of(NormParamInitializer.MEAN, NormParamInitializer.VAR, NormParamInitializer.STEPS)) {
            INDArray view = gradientViews == null ? null : gradientViews.get(key);
            if (view == null) continue;
            zero(view);
            g.setGradientFor(key, view);
        }
        // a training step normalized with the running statistics (frozen, or a batch too small) updates nothing
        if (f.training() && c.hasRunningStats()) pending = f.mode() == Mode.BATCH ? pending(f.segments()) : null;
        return new Pair<>(g, epsOut);
    }

    /** Sets a parameter's gradient: its view, holding the value (written there by the graph already if inView). */
    private void setGradient(Gradient g, String key, INDArray value, boolean inView) {
        INDArray view = gradientViews.get(key);
        if (!inView) view.assign(value.reshape(view.shape()));
        g.setGradientFor(key, view);
    }

    /** A parameter's gradient view, shaped for the layout, as the destination of a graph output (if of its type). */
    private void putGradientView(Map<String, INDArray> into, CompiledGraph graph, String output, String param, Layout layout,
                                 DataType cdt) {
        INDArray view = gradientViews == null ? null : gradientViews.get(param);
        if (view == null || view.dataType() != cdt || !graph.outputNames().contains(output)) return;
        into.put(output, paramShaped(view, layout.paramShape()));
    }

    /**
     * Called by DL4J's optimizers once after each step (DL4J's frozen-layer wrappers do not pass it on): the layer's
     * constraints, then the pending update of the running statistics from the step's last training backward.
     */
    @Override
    public void applyConstraints(int iteration, int epoch) {
        super.applyConstraints(iteration, epoch);
        Pending p = pending;
        pending = null;
        if (p != null) updateRunningStats(p);
    }

    private Pending pending(List<Segment> segments) {
        Pending p = pending;
        if (p != null && p.input() == input && p.iteration() == getIterationCount() && p.epoch() == getEpochCount()) {
            return new Pending(segments, p.mean(), p.var(), p.steps(), input, p.iteration(), p.epoch());
        }
        INDArray meanParam = getParam(NormParamInitializer.MEAN), stepsParam = getParam(NormParamInitializer.STEPS);
        return new Pending(segments, meanParam == null ? null : doubles(meanParam), doubles(getParam(NormParamInitializer.VAR)),
                stepsParam == null ? 0 : Math.round(stepsParam.getDouble(0)), input, getIterationCount(), getEpochCount());
    }

    /** True if a training backward left batch statistics that the next optimizer step will apply. */
    public boolean hasPendingUpdate() {
        return pending != null;
    }

    /** Applies the pending batch statistics to the running statistics they were taken against ({@link RunningStats}). */
    private void updateRunningStats(Pending p) {
        RunningStats rule = runningRule(layerConf().isCumulative());
        double[] runMean = p.mean() == null ? null : p.mean().clone();
        double[] runVar = p.var().clone();
        long steps = enter(rule, p.segments(), runMean, runVar, p.steps());
        writeRunningStats(runMean, runVar, steps);
    }

    private void writeRunningStats(double[] runMean, double[] runVar, long steps) {
        INDArray meanParam = getParam(NormParamInitializer.MEAN), varParam = getParam(NormParamInitializer.VAR);
        INDArray stepsParam = getParam(NormParamInitializer.STEPS);
        if (meanParam != null) meanParam.assign(Nd4j.createFromArray(runMean).reshape(meanParam.shape()));
        varParam.assign(Nd4j.createFromArray(runVar).reshape(varParam.shape()));
        if (stepsParam != null) stepsParam.assign(steps);
    }

    /** The layer's running rule, with its exponential or the cumulative average ({@link #startRecompute} asks for the latter). */
    private RunningStats runningRule(boolean cumulative) {
        AbstractNormLayer c = layerConf();
        NormSpec spec = c.normSpec();
        return new RunningStats(c.getDecay(), cumulative, c.averagesGroups(), spec.center(), spec.minCount());
    }

    /** Enters the batch statistics of a forward's segments into running statistics under a rule; returns the new count. */
    private static long enter(RunningStats rule, List<Segment> segments, double[] runMean, double[] runVar, long steps) {
        for (Segment s : segments) {
            INDArray v = s.state().get(V);
            INDArray cnt = s.state().get(COUNT);   // with a mask: Σ w per group, else every group has groupSize values
            double[] counts;
            if (cnt == null) {
                counts = new double[(int) v.length()];
                Arrays.fill(counts, s.layout().groupSize());
            } else {
                counts = doubles(cnt.broadcast(v.shape()));
            }
            double[] mean = rule.center() ? doubles(s.state().get(MEAN)) : null;
            steps = rule.update(runMean, runVar, steps, mean, doubles(v), counts);
        }
        return steps;
    }

    /**
     * Starts recomputing the running statistics from data ({@code org.bn4j.convert.RunningStatistics}): from now on
     * every training forward that normalizes with batch statistics enters them into a cumulative average kept apart
     * from the parameters, in the layer's own way (ghost batches in order, instance norm's samples averaged, Bessel's
     * correction for centred statistics, groups with too few values left out). Nothing changes in the layer until
     * {@link #finishRecompute}; its forwards use the running statistics it had.
     *
     * @throws IllegalStateException if the layer keeps no running statistics
     */
    public void startRecompute() {
        AbstractNormLayer c = layerConf();
        if (!c.hasRunningStats()) {
            throw new IllegalStateException(c.describe() + " " + layerId() + ": keeps no running statistics to recompute");
        }
        Recompute r = new Recompute();
        INDArray meanParam = getParam(NormParamInitializer.MEAN);
        r.mean = meanParam == null ? null : meanParam.toDoubleVector();
        r.var = getParam(NormParamInitializer.VAR).toDoubleVector();
        recompute = r;
    }

    /**
     * Ends the recomputation started by {@link #startRecompute}. With {@code write}, and if any statistics entered, the
     * running statistics become their cumulative average, and a layer with {@code cumulativeAverage(true)} also takes
     * their number as its step count; the step count of other layers (batch renormalization's schedule) is kept.
     *
     * @return the number of statistics that entered (0: nothing written)
     */
    public long finishRecompute(boolean write) {
        Recompute r = recompute;
        recompute = null;
        if (r == null) return 0;
        if (r.steps == 0 || !write) return r.steps;
        INDArray stepsParam = getParam(NormParamInitializer.STEPS);
        long steps = layerConf().isCumulative() || stepsParam == null ? r.steps : Math.round(stepsParam.getDouble(0));
        writeRunningStats(r.mean, r.var, steps);
        return r.steps;
    }

    /** Graph inputs: x, the mask, and γ, β (learned or fixed) shaped for the layout. */
    private Map<String, INDArray> inputs(Layout layout, INDArray x, INDArray mask) {
        AbstractNormLayer c = layerConf();
        Map<String, INDArray> in = new HashMap<>();
        in.put(X, shaped(x, layout.shape()));
        if (mask != null) in.put(W, shaped(mask, layout.maskShape()));
        if (c.isScale()) in.put(GAMMA, paramShaped(param(NormParamInitializer.GAMMA, c.getFixedGamma()), layout.paramShape()));
        if (c.isBias()) in.put(BETA, paramShaped(param(NormParamInitializer.BETA, c.getFixedBeta()), layout.paramShape()));
        return in;
    }

    /** The running statistics as graph inputs. */
    private void putRunning(Map<String, INDArray> in, Layout layout) {
        if (layerConf().isCenter()) in.put(MEAN_RUN, paramShaped(param(NormParamInitializer.MEAN, null), layout.paramShape()));
        in.put(V_RUN, paramShaped(param(NormParamInitializer.VAR, null), layout.paramShape()));
    }

    /** The renormalization bounds of this step (from the step count). */
    private void putRenormBounds(Map<String, INDArray> in, Layout layout) {
        BatchRenorm c = (BatchRenorm) layerConf();
        long steps = Math.round(getParam(NormParamInitializer.STEPS).getDouble(0));
        long[] ones = new long[layout.rank()];
        Arrays.fill(ones, 1);
        DataType cdt = computeType();
        in.put(R_MAX, Nd4j.valueArrayOf(ones, c.rMaxAt(steps), cdt));
        if (c.isCenter()) in.put(D_MAX, Nd4j.valueArrayOf(ones, c.dMaxAt(steps), cdt));
    }

    /** A parameter in the compute type; a fixed value as a constant array instead where the layer holds it fixed. */
    private INDArray param(String key, Double fixedValue) {
        DataType cdt = computeType();
        if (fixedValue == null) return getParam(key).castTo(cdt);
        return fixed.computeIfAbsent(key, k -> {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                return Nd4j.valueArrayOf(new long[]{layerConf().getNOut()}, fixedValue, cdt);
            }
        });
    }

    /** The values of an array as doubles in C order; a contiguous float32 or float64 one read from its memory. */
    private static double[] doubles(INDArray a) {
        ByteBuffer b = memory(a);
        if (b == null) return (a.isVectorOrScalar() ? a : a.reshape(a.length())).toDoubleVector();
        double[] d = new double[Math.toIntExact(a.length())];
        Simd.load(b, a.dataType() == DataType.FLOAT, a.offset(), d, d.length);
        return d;
    }

    /** Sets an array to zero; a contiguous float32 or float64 one through its memory. */
    private static void zero(INDArray a) {
        ByteBuffer b = memory(a);
        if (b == null) {
            a.assign(0);
            return;
        }
        int n = Math.toIntExact(a.length());
        Simd.store(new double[n], n, b, a.dataType() == DataType.FLOAT, a.offset());
    }

    /**
     * The memory of a contiguous (C order) float32 or float64 array in native byte order, or null: small arrays read
     * and written this way cost no ND4J op (tens of microseconds each, which small layers notice).
     */
    private static ByteBuffer memory(INDArray a) {
        DataType t = a.dataType();
        if (t != DataType.FLOAT && t != DataType.DOUBLE || a.isEmpty() || a.elementWiseStride() != 1
                || !(a.ordering() == 'c' || a.isVectorOrScalar())) {
            return null;
        }
        return a.data().asNio().order(ByteOrder.nativeOrder());
    }

    /**
     * Rows [start, end) (along axis 0, the batch axis of every input format) of an array of any rank, in C order as the
     * given shape: a view where the array is in C order (each view costs a native shape buffer, so there is one).
     */
    private static INDArray rows(INDArray a, long start, long end, long[] shape) {
        if (start == 0 && end == a.size(0)) return shaped(a, shape);
        INDArray r = shaped(a, new long[]{a.size(0), a.length() / a.size(0)}).get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
        return shaped(r, shape);
    }

    /** a in C order as the given shape: itself if it is that already (each reshape makes a view with a native shape buffer). */
    private static INDArray shaped(INDArray a, long[] shape) {
        return a.ordering() == 'c' && Arrays.equals(a.shape(), shape) ? a : a.reshape('c', shape);
    }

    /**
     * A parameter (or its gradient view) as the given shape: the view made the last time for the same array, which the
     * layer keeps between calls, so steps make no new views of it.
     */
    private INDArray paramShaped(INDArray a, long[] shape) {
        synchronized (paramViews) {
            INDArray v = paramViews.get(a);
            if (v != null && Arrays.equals(v.shape(), shape)) return v;
            if (paramViews.size() >= 16) paramViews.clear();   // arrays replaced (setParams, another type) are dropped
            v = shaped(a, shape);
            paramViews.put(a, v);
            return v;
        }
    }

    private static INDArray detached(DataType dt, long[] shape) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return Nd4j.createUninitialized(dt, shape, 'c');
        }
    }

    private NormCore.Graphs graphs(NormSpec spec, Layout layout) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return graphs.get(new Key(spec, layout), k -> NormCore.graphs(spec, layout, computeType()));
        }
    }

    /**
     * The noise of the current training step for a 4-D view: a function of the layer index and the step. Drawn into
     * two arrays kept between steps (fresh arrays would pay their page faults at every step).
     */
    public INDArray[] noise(long[] view) {
        long stream = ((((long) getIndex() << 20) ^ getEpochCount()) << 32) ^ getIterationCount();
        if (noiseBuffers == null || !Arrays.equals(noiseBuffers[0].shape(), view)) {
            noiseBuffers = new INDArray[]{detached(computeType(), view), detached(computeType(), view)};
        }
        layerConf().getNoise().draw(stream, noiseBuffers[0], noiseBuffers[1]);
        return noiseBuffers;
    }

    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return !NormParamInitializer.isState(paramName);
    }

    /** Clears the input and the last forward pass; a pending running-statistics update stays for the optimizer step. */
    @Override
    public void clear() {
        super.clear();
        last = null;
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise
    }
}
