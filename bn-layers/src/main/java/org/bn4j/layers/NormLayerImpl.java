package org.bn4j.layers;

import org.bn4j.core.Layout;
import org.bn4j.core.NormCore;
import org.bn4j.core.NormSpec;
import org.deeplearning4j.exception.DL4JInvalidInputException;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.bn4j.core.NormCore.*;

/**
 * Runtime of every {@link AbstractNormLayer}: maps the input to its layout, runs the core's SameDiff graphs
 * (built once per input shape and cached), and keeps the running statistics.
 *
 * <p>The running statistics are updated in place during backprop of a training step (so plain forward passes,
 * in training mode or not, never change them); their gradient is zero and their updater NoOp.
 */
public class NormLayerImpl extends BaseLayer<AbstractNormLayer> {
    private static final int GRAPH_CACHE_SIZE = 8;

    private final Map<Layout, NormCore.Graphs> graphs = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Layout, NormCore.Graphs> eldest) {
            return size() > GRAPH_CACHE_SIZE;
        }
    };

    /** What backprop needs from the last training forward. */
    private record Segment(long start, long end, int groups, Layout layout, Map<String, INDArray> state) {
    }

    private INDArray forwardInput;
    /** The noise arrays {s, m} of the last training step (noisy layers only). */
    private INDArray[] noiseBuffers;
    private List<Segment> forwardSegments;

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

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        AbstractNormLayer c = layerConf();
        InputView iv = InputView.of(input, maskArray, c, layerId());
        INDArray x = input.castTo(dataType).reshape('c', iv.view());
        INDArray mask = maskArray == null ? null : maskArray.castTo(dataType).reshape('c', iv.mask());
        // the graphs write y straight into the activations array (a workspace array, or a detached one)
        INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, input.shape(), 'c');
        INDArray y = out.reshape('c', iv.view());
        if (!training && c.identityInInference()) {
            y.assign(x);
        } else if (training || !c.hasRunningStats()) {
            List<Segment> segments = trainForward(x, mask, iv, training, y);
            segments.forEach(s -> s.state().remove(Y)); // backprop needs the statistics, not y
            forwardInput = input;
            forwardSegments = segments;
        } else {
            Layout layout = c.layout(iv.view(), iv.mask(), 1, iv.sequence()).simplify();
            Map<String, INDArray> in = params(layout, x, mask);
            in.put(MEAN_RUN, getParam(NormParamInitializer.MEAN).reshape(layout.paramShape()));
            in.put(V_RUN, getParam(NormParamInitializer.VAR).reshape(layout.paramShape()));
            graphs(layout).inference().run(in, Map.of(Y, y.reshape('c', layout.shape())));
        }
        return out;
    }

    /** Runs the training forward per segment; {@code y}, if not null, receives the output (view shape). */
    private List<Segment> trainForward(INDArray x, INDArray mask, InputView iv, boolean training, INDArray y) {
        AbstractNormLayer c = layerConf();
        NormSpec spec = c.normSpec();
        INDArray[] noise = training && spec.noisy() ? noise(iv.view()) : null;
        List<Segment> out = new ArrayList<>(2);
        for (long[] seg : c.segments(iv.batch())) {
            Segment s = segment(seg, iv, noise);
            if (spec.normalizes() && mask == null && s.layout().groupSize() < c.minGroupSize() && training) {
                throw new DL4JInvalidInputException(c.describe() + " " + layerId() + ": training needs at least "
                        + c.minGroupSize() + " values per"
                        + " statistics group, got " + s.layout().groupSize() + " for input shape "
                        + Arrays.toString(input.shape()) + " (a batch of 1 has no variance; inference with batch 1 is fine)");
            }
            Map<String, INDArray> into = y == null ? Map.of() : Map.of(Y, rows(y, s.start(), s.end(), s.layout().shape()));
            s.state().putAll(graphs(s.layout()).train().run(inputs(s, x, mask), into));
            out.add(s);
        }
        return out;
    }

    /** One segment of the batch: its layout, and its slice of the noise (the only state kept besides statistics). */
    private Segment segment(long[] seg, InputView iv, INDArray[] noise) {
        long start = seg[0], end = seg[1];
        long[] segView = iv.view().clone();
        segView[0] = end - start;
        long[] segMask = iv.mask() == null ? null : iv.mask().clone();
        if (segMask != null) segMask[0] = end - start;
        Layout layout = layerConf().layout(segView, segMask, (int) seg[2], iv.sequence()).simplify();
        Segment s = new Segment(start, end, (int) seg[2], layout, new HashMap<>());
        if (noise != null) {
            s.state().put(NOISE_S, rows(noise[0], start, end, layout.shape()));
            s.state().put(NOISE_M, rows(noise[1], start, end, layout.shape()));
        }
        return s;
    }

    /** Graph inputs of a segment: its rows of x and of the mask, γ, β and the kept state. */
    private Map<String, INDArray> inputs(Segment s, INDArray x, INDArray mask) {
        Map<String, INDArray> in = params(s.layout(), rows(x, s.start(), s.end(), s.layout().shape()),
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
        InputView iv = InputView.of(input, maskArray, c, layerId());
        INDArray x = input.castTo(dataType).reshape('c', iv.view());
        INDArray mask = maskArray == null ? null : maskArray.castTo(dataType).reshape('c', iv.mask());
        if (forwardSegments == null || forwardInput != input) {
            forwardSegments = trainForward(x, mask, iv, true, null);
            forwardInput = input;
        }
        INDArray dy = epsilon.castTo(dataType).reshape('c', iv.view());
        // the graphs write dx straight into the gradient array (a workspace array, or a detached one)
        INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, input.shape(), 'c');
        INDArray dx = eps.reshape('c', iv.view());
        INDArray dGamma = null, dBeta = null;
        for (Segment s : forwardSegments) {
            Map<String, INDArray> in = inputs(s, x, mask);
            in.put(DY, rows(dy, s.start(), s.end(), s.layout().shape()));
            Map<String, INDArray> res = graphs(s.layout()).backward()
                    .run(in, Map.of(DX, rows(dx, s.start(), s.end(), s.layout().shape())));
            if (c.isAffine()) {
                dGamma = dGamma == null ? res.get(DGAMMA) : dGamma.add(res.get(DGAMMA));
                dBeta = dBeta == null ? res.get(DBETA) : dBeta.add(res.get(DBETA));
            }
        }

        Gradient g = new DefaultGradient(gradientsFlattened);
        if (c.isAffine()) {
            gradientViews.get(NormParamInitializer.GAMMA).assign(dGamma.reshape(c.getNOut()));
            gradientViews.get(NormParamInitializer.BETA).assign(dBeta.reshape(c.getNOut()));
            g.setGradientFor(NormParamInitializer.GAMMA, gradientViews.get(NormParamInitializer.GAMMA));
            g.setGradientFor(NormParamInitializer.BETA, gradientViews.get(NormParamInitializer.BETA));
        }
        if (c.hasRunningStats()) {
            updateRunningStats(forwardSegments);
            for (String key : List.of(NormParamInitializer.MEAN, NormParamInitializer.VAR)) {
                gradientViews.get(key).assign(0);
                g.setGradientFor(key, gradientViews.get(key));
            }
        }
        return new Pair<>(g, eps);
    }

    /**
     * One exponential-average step per statistics group, in batch order:
     * {@code run ← decay·run + (1−decay)·stat}, with the variance made unbiased by m/(m−1). The statistics are
     * vectors of nOut values per group, so the steps run on the JVM: a dozen small ND4J ops here cost more than
     * the whole forward at [256, 1024].
     */
    private void updateRunningStats(List<Segment> segments) {
        double d = layerConf().runningDecay();
        INDArray mean = getParam(NormParamInitializer.MEAN);
        INDArray var = getParam(NormParamInitializer.VAR);
        double[] runMean = mean.toDoubleVector(), runVar = var.toDoubleVector();
        int n = runMean.length;
        for (Segment s : segments) {
            INDArray v = s.state().get(V);
            INDArray cnt = s.state().get(COUNT);   // with a mask: Σ w per group, else every group has groupSize values
            double[] counts = cnt == null ? null : cnt.broadcast(v.shape()).ravel().toDoubleVector();
            double m = s.layout().groupSize();
            double[] bm = s.state().get(MEAN).ravel().toDoubleVector(), bv = v.ravel().toDoubleVector();
            for (int g = 0, k = 0; g < s.groups(); g++) {
                for (int j = 0; j < n; j++, k++) {
                    runMean[j] = d * runMean[j] + (1 - d) * bm[k];
                    runVar[j] = d * runVar[j] + (1 - d) * unbiased(counts == null ? m : counts[k]) * bv[k];
                }
            }
        }
        mean.assign(Nd4j.createFromArray(runMean).reshape(mean.shape()));
        var.assign(Nd4j.createFromArray(runVar).reshape(var.shape()));
    }

    /** Bessel's factor m/(m−1) (1 for m ≤ 1). */
    private static double unbiased(double m) {
        return m / (double) Math.max(m - 1, 1);
    }

    /** Inputs for the graphs: x, the mask, and γ, β shaped for the layout. */
    private Map<String, INDArray> params(Layout layout, INDArray x, INDArray mask) {
        Map<String, INDArray> in = new HashMap<>();
        in.put(X, x.reshape('c', layout.shape()));
        if (mask != null) in.put(W, mask.reshape('c', layout.maskShape()));
        if (layerConf().isAffine()) {
            in.put(GAMMA, getParam(NormParamInitializer.GAMMA).reshape(layout.paramShape()));
            in.put(BETA, getParam(NormParamInitializer.BETA).reshape(layout.paramShape()));
        }
        return in;
    }

    private static INDArray rows(INDArray a, long start, long end, long[] shape) {
        INDArray r = start == 0 && end == a.size(0) ? a
                : a.get(NDArrayIndex.interval(start, end), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        return r.reshape('c', shape);
    }

    private NormCore.Graphs graphs(Layout layout) {
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            return graphs.computeIfAbsent(layout, l -> NormCore.build(layerConf().normSpec(), l, dataType));
        }
    }

    /**
     * The noise of the current training step for a 4-D view: a function of the layer index and the step. Drawn into
     * two arrays kept between steps (fresh arrays would pay their page faults at every step).
     */
    INDArray[] noise(long[] view) {
        long stream = ((((long) getIndex() << 20) ^ getEpochCount()) << 32) ^ getIterationCount();
        if (noiseBuffers == null || !Arrays.equals(noiseBuffers[0].shape(), view)) {
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                noiseBuffers = new INDArray[]{Nd4j.createUninitialized(dataType, view, 'c'),
                        Nd4j.createUninitialized(dataType, view, 'c')};
            }
        }
        layerConf().noiseConfig().draw(stream, noiseBuffers[0], noiseBuffers[1]);
        return noiseBuffers;
    }

    @Override
    public boolean updaterDivideByMinibatch(String paramName) {
        return !NormParamInitializer.isState(paramName);
    }

    @Override
    public void clear() {
        super.clear();
        forwardInput = null;
        forwardSegments = null;
    }

    @Override
    public void clearNoiseWeightParams() {
        // no weight noise
    }
}
