package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.bn4j.core.Layout;

/**
 * Ioffe–Szegedy batch normalization, a drop-in for DL4J's {@code BatchNormalization}, and the base of the
 * batch-norm family (every option of {@link AbstractNormLayer} applies: another statistic, ghost batches, noise).
 *
 * <p>Training, per feature c over the reduction set R (the batch axis of {@code [N,C]}; batch and positions of CNN
 * input; batch and time of RNN input, masked steps left out), m = |R|:
 * <pre>
 *   μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²   (biased),   x̂ = (x − μ) / sqrt(σ² + ε),   y = γ x̂ + β
 * </pre>
 * Gradient (complete, the statistics depend on x): {@code dβ = Σ g, dγ = Σ g·x̂,
 * dx = γ/sqrt(σ²+ε) · (g − mean(g) − x̂·mean(g·x̂))}.
 *
 * <p>Running statistics, updated once per optimizer step (so inference, plain forward passes and gradient
 * computations never change them):
 * <pre>
 *   mean ← decay·mean + (1 − decay)·μ,    var ← decay·var + (1 − decay)·σ²·m/(m − 1)   (unbiased)
 * </pre>
 * {@code decay} weights the OLD value: PyTorch's {@code momentum = 0.1} is {@code decay = 0.9}; with
 * {@code cumulativeAverage(true)} the t-th batch enters as {@code mean ← mean + (μ − mean)/t} (PyTorch's
 * {@code momentum=None}). Inference: {@code y = γ (x − mean)/sqrt(var + ε) + β}. With ghost batches
 * ({@code virtualBatchSize(v)}, see {@link GhostBatchNorm}) each ghost batch is normalized with its own statistics and
 * updates the running statistics in turn. A training batch with fewer than two values per feature (a batch of one)
 * is normalized with the running statistics and leaves them unchanged ({@link SmallBatch}); inference with batch 1
 * is fine. {@code frozenStatistics(true)} normalizes with the running statistics in training too (fine-tuning).
 *
 * <p>Defaults: decay 0.9, ε 1e-5, γ = 1, β = 0 (both learned), running statistics on (mean 0, var 1 initially).
 * User guide: {@code docs/batch-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class BatchNorm extends AbstractNormLayer {

    protected BatchNorm(BaseBuilder<?> b) {
        super(b);
    }

    /** For JSON: the builder's defaults, format version 1 unless the JSON says otherwise. */
    public BatchNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    @Override
    public boolean batchStatistics() {
        return true;
    }

    /** Statistics over the batch and every position, per ghost group and feature: [G, N/G, P, C, Q] reducing N/G, P, Q. */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        long g = ghostGroups;
        Layout l = Layout.of(new long[]{g, view[0] / g, view[1], view[2], view[3]}, new int[]{1, 2, 4}, 3);
        return mask == null ? l : l.withMask(new long[]{g, mask[0] / g, mask[1], mask[2], mask[3]});
    }

    /**
     * Builder of the batch-norm family; the variants' builders extend it.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class BaseBuilder<T extends BaseBuilder<T>> extends RunningStatsBuilder<T> {
        protected BaseBuilder() {
            runningStats = true;
        }

        /**
         * Ghost batches of v ≥ 2 samples, each normalized with its own statistics in training (default 0: the whole
         * batch). See {@link GhostBatchNorm}.
         */
        public T virtualBatchSize(int v) {
            this.virtualBatchSize = v;
            return (T) this;
        }
    }

    public static class Builder extends BaseBuilder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public BatchNorm build() {
            return new BatchNorm(this);
        }
    }
}
