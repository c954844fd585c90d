package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.bn4j.core.NormSpec;
import org.bn4j.core.Statistic;

/**
 * Ioffe–Szegedy batch normalization, a drop-in for DL4J's {@code BatchNormalization}.
 *
 * <p>Training, per feature c over the reduction set R (the batch axis of {@code [N,C]}; batch, height and
 * width of CNN input; batch and time of RNN input, masked steps left out), m = |R|:
 * <pre>
 *   μ = (1/m) Σ x,   σ² = (1/m) Σ (x − μ)²   (biased),   x̂ = (x − μ) / sqrt(σ² + ε),   y = γ x̂ + β
 * </pre>
 * Gradient (complete, the statistics depend on x): {@code dβ = Σ g, dγ = Σ g·x̂,
 * dx = γ/sqrt(σ²+ε) · (g − mean(g) − x̂·mean(g·x̂))}.
 *
 * <p>Running statistics, updated once per training step (in backprop, so inference and plain forward passes
 * never change them):
 * <pre>
 *   mean ← decay·mean + (1 − decay)·μ,    var ← decay·var + (1 − decay)·σ²·m/(m − 1)   (unbiased)
 * </pre>
 * {@code decay} weights the OLD value: PyTorch's {@code momentum = 0.1} is {@code decay = 0.9}. Inference:
 * {@code y = γ (x − mean)/sqrt(var + ε) + β}. Training with m = 1 is an error (no variance); inference with
 * batch 1 is fine.
 *
 * <p>Defaults: decay 0.9, ε 1e-5, γ = 1, β = 0, affine on. Initial running statistics mean 0, var 1.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class BatchNorm extends AbstractNormLayer {

    /** Running-statistics decay, the weight of the old value (default 0.9). */
    protected double decay;

    protected BatchNorm(BaseBuilder<?> b) {
        super(b);
        if (!(b.decay >= 0 && b.decay < 1)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": decay must be in [0, 1), got " + b.decay);
        }
        this.decay = b.decay;
    }

    /** For JSON: the builder's defaults. */
    public BatchNorm() {
        this(new Builder());
    }

    /** The scale statistic of this layer; batch norm uses the variance. */
    protected Statistic statistic() {
        return Statistic.variance();
    }

    @Override
    public NormSpec normSpec() {
        return new NormSpec(statistic(), affine, eps, NormSpec.Noise.NONE);
    }

    /** Statistics over the batch and every position, per group and feature: [G, N/G, P, C, Q] reducing N/G, P, Q. */
    @Override
    public Layout layout(long[] view, long[] mask, int groups, boolean sequence) {
        long[] shape = {groups, view[0] / groups, view[1], view[2], view[3]};
        Layout l = Layout.of(shape, new int[]{1, 2, 4}, 3);
        return mask == null ? l : l.withMask(new long[]{groups, mask[0] / groups, mask[1], mask[2], mask[3]});
    }

    @Override
    public boolean hasRunningStats() {
        return true;
    }

    @Override
    public double runningDecay() {
        return decay;
    }

    /**
     * Builder of the batch-norm family; the variants' builders extend it.
     *
     * @param <T> the concrete builder
     */
    @SuppressWarnings("unchecked")
    public abstract static class BaseBuilder<T extends BaseBuilder<T>> extends AbstractNormLayer.Builder<T> {
        protected double decay = 0.9;

        /** Weight of the old running statistics, in [0, 1) (default 0.9, i.e. PyTorch's momentum 0.1). */
        public T decay(double decay) {
            this.decay = decay;
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
