package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.bn4j.core.Layout;

/**
 * Root-mean-square layer normalization (Zhang and Sennrich 2019): each position of each sample is divided by the root
 * mean square of its features, without centring, and scaled per feature:
 * <pre>
 *   y = γ ⊙ x / sqrt(mean_C(x²) + ε)
 * </pre>
 * over the feature axis C: for feed-forward input per sample, for RNN input per sample and time step (masked steps
 * give output 0 and gradient 0), for CNN input per sample and position (the channels of each pixel). The same in
 * training and inference. Gradient: {@code dx = γ⊙g/r − x·Σ_C(γ⊙g⊙x)/(C·r³)}, r = sqrt(mean(x²) + ε). It is the core
 * with {@code center(false)} and {@code bias(false)}: {@code bias(true)} adds a β as some implementations do.
 *
 * <p>Defaults: ε 1e-5 (PyTorch uses its dtype's machine epsilon when none is given; Keras 1e-6), γ = 1 (learned), no
 * β. User guide: {@code docs/rms-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class RMSNorm extends AbstractNormLayer {

    protected RMSNorm(Builder b) {
        super(b);
    }

    /** For JSON. */
    public RMSNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    /** Per sample and position over the features: [N, P, C, Q] reducing C. */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        Layout l = Layout.of(view, new int[]{2}, 2);
        return mask == null ? l : l.withMask(mask);
    }

    public static class Builder extends AbstractNormLayer.Builder<Builder> {
        public Builder() {
            center = false;
            bias = false;
        }

        @Override
        @SuppressWarnings("unchecked")
        public RMSNorm build() {
            return new RMSNorm(this);
        }
    }
}
