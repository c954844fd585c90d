package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;
import org.bn4j.core.Layout;

/**
 * The noise of {@link NoisyBatchNorm} without any normalization: {@code y = s ⊙ x + m} in training, the identity in
 * inference. Santurkar et al. (2018) use it as the control: the same noise in a network without batch norm. No
 * parameters. Defaults: {@link NoiseConfig#santurkar()}. User guide: {@code docs/noisy-batch-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class NoiseInjection extends AbstractNormLayer {

    protected NoiseInjection(Builder b) {
        super(b);
        if (b.statistic != null || b.scale || b.bias) {
            throw new IllegalArgumentException("NoiseInjection: no statistic, γ or β (it only adds noise); for a normalization"
                    + " with noise use noise(...) on that layer, got statistic " + b.statistic + ", scale " + b.scale
                    + ", bias " + b.bias);
        }
        if (b.noise == null) throw new IllegalArgumentException("NoiseInjection: noise must not be null");
    }

    /** For JSON. */
    public NoiseInjection() {
        this(new Builder());
        formatVersion = 1;
    }

    /** Elementwise: the layout only carries the shape (nothing is reduced). */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        Layout l = Layout.of(view, new int[0], 2);
        return mask == null ? l : l.withMask(mask);
    }

    public static class Builder extends AbstractNormLayer.Builder<Builder> {
        public Builder() {
            statistic = null;
            center = false;
            scale = false;
            bias = false;
            noise = NoiseConfig.santurkar();
        }

        @Override
        public Builder statistic(org.bn4j.core.Statistic s) {
            throw new IllegalArgumentException("NoiseInjection: no statistic (it only adds noise), got " + s);
        }

        @Override
        @SuppressWarnings("unchecked")
        public NoiseInjection build() {
            return new NoiseInjection(this);
        }
    }
}
