package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.bn4j.core.Layout;

/**
 * Layer normalization (Ba, Kiros, Hinton 2016): statistics per sample over its features, the same in training
 * and inference, no running statistics.
 * <pre>
 *   μ = mean over S of x,   σ² = mean over S of (x − μ)²,   y = γ (x − μ)/sqrt(σ² + ε) + β
 * </pre>
 * S is every non-batch axis for feed-forward [N, C] and CNN input (NCHW, NHWC, NCDHW, NDHWC: C·H·W values), and the
 * features C at each time step for RNN input (NCW or NWC; masked steps give output 0 and input gradient 0).
 * γ and β are per feature (channel). The gradient is batch norm's with the reduction taken over S:
 * {@code dx = γ/sqrt(σ²+ε) · (g − mean_S(g) − x̂·mean_S(g·x̂))} (γ inside the means when γ varies over S). Any
 * statistic, centring and noise option applies (an L1 layer norm, a noisy layer norm).
 *
 * <p>Defaults: ε 1e-5, γ = 1, β = 0 (learned). A sample with a single value gives x̂ = 0 (y = β). User guide:
 * {@code docs/layer-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class LayerNorm extends AbstractNormLayer {

    protected LayerNorm(Builder b) {
        super(b);
    }

    /** For JSON. */
    public LayerNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    /** Per sample over all its values; for sequences per sample and time step over the features. */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        Layout l = Layout.of(view, sequence ? new int[]{2} : new int[]{1, 2, 3}, 2);
        return mask == null ? l : l.withMask(mask);
    }

    public static class Builder extends AbstractNormLayer.Builder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public LayerNorm build() {
            return new LayerNorm(this);
        }
    }
}
