package org.bn4j.convert;

import org.bn4j.runtime.NormLayerImpl;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.layers.normalization.BatchNormalization;
import org.deeplearning4j.nn.layers.wrapper.BaseWrapperLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.dataset.api.iterator.MultiDataSetIterator;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.ToLongFunction;

/**
 * Recomputes the running statistics of a network's bn4j layers from data, as PyTorch's
 * {@code torch.optim.swa_utils.update_bn} does: one pass over the data in training mode, and each layer's running mean
 * and variance become the equal-weight (cumulative) average of the batch statistics it saw:
 * <pre>
 *   mean = (1/T) Σ_t μ_t,    var = (1/T) Σ_t σ²_t·m_t/(m_t − 1)      (T statistics, m_t values each)
 * </pre>
 * with the conventions of the layer's own running rule ({@code docs/batch-norm.md}, "Running statistics"): the
 * unbiased variance for centred statistics (Bessel's factor m/(m − 1)), the plain variance equivalent otherwise (Lp,
 * top-k and RMS statistics as the layer keeps them); each ghost batch is one statistic, in order; instance norm's
 * per-sample statistics are averaged per batch into one; statistics groups with too few values (masked sequences, a
 * batch of one sample) are left out. The statistics are computed by the layers' own training forward, and entered by
 * the layers' own rule with the cumulative average in place of their decay.
 *
 * <pre>{@code
 * RunningStatistics.Result r = RunningStatistics.recompute(net, trainIterator);
 * System.out.println(r);    // which layers, how many statistics each, batches and examples
 * }</pre>
 *
 * <p>What it touches, and what it does not:
 * <ul>
 *   <li>Every bn4j layer with running statistics ({@code BatchNorm}, {@code LpBatchNorm}, {@code GhostBatchNorm},
 *       {@code NoisyBatchNorm}, {@code BatchRenorm}, {@code InstanceNorm} with {@code runningStats(true)}): its
 *       {@code mean} and {@code var}, and the step count of a layer with {@code cumulativeAverage(true)} (it becomes
 *       the number of statistics, as PyTorch's {@code num_batches_tracked}). Batch renormalization's step count (its
 *       schedule) is kept.</li>
 *   <li>Skipped and reported ({@link Result#skipped()}): layers with {@code frozenStatistics(true)} (they normalize
 *       with their running statistics in training too), and layers that received no batch statistics in the pass
 *       (inside DL4J's {@code FrozenLayer}, which runs them in inference mode, or with every batch too small).</li>
 *   <li>DL4J's own {@code BatchNormalization} is not recomputed (its running statistics move only through its
 *       backward pass); such layers are listed in {@link Result#skipped()}.</li>
 *   <li>Trainable parameters, the updater state and the iteration and epoch counts are unchanged, bit for bit.</li>
 * </ul>
 *
 * <p>The pass is a training-mode forward ({@code output(x, true, ...)}) of each batch, as in {@code update_bn}: each
 * layer sees the input that training gives it, normalized by the batch statistics of the layers before it (with
 * dropout and noise, if the network has them), not the inference-mode input. The new running statistics are written
 * after the pass, all at once, so the pass uses the running statistics the network had (they enter only batch
 * renormalization's corrections, the masked-group fallback and too-small batches). If the pass fails, nothing is
 * written. The iterator is reset before the pass and after it, when it supports reset. User guide:
 * {@code docs/migrating.md}, "Recomputing running statistics".
 */
public final class RunningStatistics {

    private RunningStatistics() {
    }

    /**
     * What {@link #recompute} did.
     *
     * @param recomputed the layers whose running statistics were recomputed, in network order
     * @param skipped    normalization layers left unchanged, each with the reason
     * @param batches    batches in the pass
     * @param examples   examples in the pass
     */
    public record Result(List<Recomputed> recomputed, List<Skipped> skipped, int batches, long examples) {

        /**
         * A recomputed layer.
         *
         * @param layer      its name
         * @param statistics the number of batch statistics averaged (batches; ghost batches for ghost batch norm)
         */
        public record Recomputed(String layer, long statistics) {
        }

        /**
         * A normalization layer left unchanged.
         *
         * @param layer  its name
         * @param reason why
         */
        public record Skipped(String layer, String reason) {
        }

        /** One line per layer: "recomputed bn1 from 12 statistics", "skipped bn2: ...". */
        @Override
        public String toString() {
            StringBuilder s = new StringBuilder("recomputed " + recomputed.size()
                    + (recomputed.size() == 1 ? " layer" : " layers") + " from " + batches
                    + " batches (" + examples + " examples), skipped " + skipped.size());
            recomputed.forEach(r -> s.append("\n  recomputed ").append(r.layer()).append(" from ")
                    .append(r.statistics()).append(" statistics"));
            skipped.forEach(k -> s.append("\n  skipped ").append(k.layer()).append(": ").append(k.reason()));
            return s.toString();
        }
    }

    /** Recomputes the running statistics of a MultiLayerNetwork's bn4j layers from the iterator's batches. */
    public static Result recompute(MultiLayerNetwork net, DataSetIterator data) {
        Objects.requireNonNull(net, "RunningStatistics.recompute: network is null");
        Objects.requireNonNull(data, "RunningStatistics.recompute: data iterator is null");
        return run(net.getLayers(), new Pass<>(data, ds -> {
            net.output(ds.getFeatures(), true, ds.getFeaturesMaskArray(), ds.getLabelsMaskArray());
            return ds.numExamples();
        }), data::resetSupported, data::reset);
    }

    /** Recomputes the running statistics of a one-input ComputationGraph's bn4j layers from the iterator's batches. */
    public static Result recompute(ComputationGraph net, DataSetIterator data) {
        Objects.requireNonNull(net, "RunningStatistics.recompute: network is null");
        Objects.requireNonNull(data, "RunningStatistics.recompute: data iterator is null");
        return run(net.getLayers(), new Pass<>(data, ds -> {
            net.output(true, new INDArray[]{ds.getFeatures()}, arrayOf(ds.getFeaturesMaskArray()),
                    arrayOf(ds.getLabelsMaskArray()));
            return ds.numExamples();
        }), data::resetSupported, data::reset);
    }

    /** Recomputes the running statistics of a ComputationGraph's bn4j layers from the iterator's batches. */
    public static Result recompute(ComputationGraph net, MultiDataSetIterator data) {
        Objects.requireNonNull(net, "RunningStatistics.recompute: network is null");
        Objects.requireNonNull(data, "RunningStatistics.recompute: data iterator is null");
        return run(net.getLayers(), new Pass<>(data, mds -> {
            net.output(true, mds.getFeatures(), mds.getFeaturesMaskArrays(), mds.getLabelsMaskArrays());
            return mds.getFeatures(0).size(0);
        }), data::resetSupported, data::reset);
    }

    private static INDArray[] arrayOf(INDArray a) {
        return a == null ? null : new INDArray[]{a};
    }

    /** The batches of an iterator and the training forward of one batch (returns its number of examples). */
    private record Pass<T>(Iterator<T> batches, ToLongFunction<T> forward) {
    }

    private static <T> Result run(Layer[] layers, Pass<T> pass, BooleanSupplier resetSupported, Runnable reset) {
        List<NormLayerImpl> targets = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Result.Skipped> skipped = new ArrayList<>();
        List<String> found = new ArrayList<>();
        for (Layer wrapped : layers) {
            Layer l = wrapped;
            while (l instanceof BaseWrapperLayer w) l = w.getUnderlying();
            String name = name(l);
            if (l instanceof BatchNormalization) {
                found.add(name);
                skipped.add(new Result.Skipped(name, "DL4J's BatchNormalization is not recomputed (its running"
                        + " statistics move only in its backward pass)"));
            } else if (l instanceof NormLayerImpl impl && impl.layerConf().hasRunningStats()) {
                found.add(name);
                if (impl.layerConf().isFrozenStatistics()) {
                    skipped.add(new Result.Skipped(name, "frozenStatistics(true): it normalizes with its running"
                            + " statistics in training too"));
                } else {
                    targets.add(impl);
                    names.add(name);
                }
            }
        }
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("RunningStatistics.recompute: expected a network with a bn4j layer that"
                    + " keeps running statistics (BatchNorm, LpBatchNorm, GhostBatchNorm, NoisyBatchNorm, BatchRenorm,"
                    + " InstanceNorm with runningStats(true)) and no frozenStatistics(true), got "
                    + (found.isEmpty() ? "none" : "only " + skipped.stream()
                    .map(s -> s.layer() + " (" + s.reason() + ")").toList()) + "; the network is unchanged");
        }
        if (resetSupported.getAsBoolean()) reset.run();
        int batches = 0;
        long examples = 0;
        boolean done = false;
        targets.forEach(NormLayerImpl::startRecompute);
        try {
            while (pass.batches().hasNext()) {
                examples += pass.forward().applyAsLong(pass.batches().next());
                batches++;
            }
            if (batches == 0) {
                throw new IllegalArgumentException("RunningStatistics.recompute: expected at least one batch, the"
                        + " iterator gave none" + (resetSupported.getAsBoolean() ? "" : " (it does not support reset:"
                        + " was it used up?)") + "; the network is unchanged");
            }
            done = true;
        } finally {
            if (!done) {
                targets.forEach(t -> t.finishRecompute(false));
                if (resetSupported.getAsBoolean()) reset.run();
            }
        }
        List<Result.Recomputed> recomputed = new ArrayList<>();
        for (int i = 0; i < targets.size(); i++) {
            long n = targets.get(i).finishRecompute(true);
            if (n > 0) recomputed.add(new Result.Recomputed(names.get(i), n));
            else skipped.add(new Result.Skipped(names.get(i), "no batch statistics reached it in training mode"
                    + " (inside a FrozenLayer, or every batch too small)"));
        }
        if (resetSupported.getAsBoolean()) reset.run();
        return new Result(List.copyOf(recomputed), List.copyOf(skipped), batches, examples);
    }

    private static String name(Layer l) {
        String n = l.conf() == null || l.conf().getLayer() == null ? null : l.conf().getLayer().getLayerName();
        return n != null ? n : "layer " + l.getIndex();
    }
}
