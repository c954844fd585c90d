package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.deeplearning4j.nn.conf.inputs.InputType;

/**
 * Instance normalization (Ulyanov, Vedaldi, Lempitsky 2016): each sample and channel is normalized over its positions
 * (H·W, D·H·W, or the unmasked time steps), with γ and β per channel:
 * <pre>
 *   μ_nc = mean of x[n, c, positions],   σ²_nc = mean of (x − μ_nc)²,   y = γ_c (x − μ_nc)/sqrt(σ²_nc + ε) + β_c
 * </pre>
 * It is group norm with one channel per group. Without running statistics (the default) it is the same in training
 * and inference. With {@code runningStats(true)} (PyTorch's {@code track_running_stats=True}) each training step
 * averages the samples' statistics per channel, {@code mean ← decay·mean + (1 − decay)·avg_n μ_nc} and
 * {@code var ← decay·var + (1 − decay)·avg_n σ²_nc·m/(m − 1)}, and inference normalizes with them as batch norm does.
 * CNN, 3-D CNN and RNN input only (a feed-forward sample has one position per channel): feed-forward input is refused
 * in the network's input type and, as a 2-D array, at run time.
 *
 * <p>Defaults: no running statistics (decay 0.9 when on), ε 1e-5, γ = 1, β = 0 (learned). User guide:
 * {@code docs/group-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class InstanceNorm extends AbstractNormLayer {

    protected InstanceNorm(Builder b) {
        super(b);
    }

    /** For JSON. */
    public InstanceNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    @Override
    protected String rejectInput(InputType.Type type) {
        return type == InputType.Type.FF ? "InstanceNorm needs CNN, 3-D CNN or RNN input (it normalizes each channel of a"
                + " sample over its positions; a feed-forward sample has one)" : null;
    }

    /** Per sample and channel over every position: [N, P, C, Q] reducing P and Q. */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        Layout l = Layout.of(view, new int[]{1, 3}, 2);
        return mask == null ? l : l.withMask(mask);
    }

    /** The samples' statistics are averaged per channel before they enter the running statistics. */
    @Override
    public boolean averagesGroups() {
        return true;
    }

    public static class Builder extends RunningStatsBuilder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public InstanceNorm build() {
            return new InstanceNorm(this);
        }
    }
}
