package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.bn4j.core.NormSpec;

/**
 * The noise of {@link NoisyBatchNorm} without any normalization: {@code y = s ⊙ x + m} in training, the
 * identity in inference. Santurkar et al. (2018) use it as the control: the same noise in a network without
 * batch norm. No parameters. Defaults: {@link NoiseConfig#santurkar()}.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class NoiseInjection extends AbstractNormLayer {
    /** The noise distribution and seed. */
    protected NoiseConfig noise;

    protected NoiseInjection(Builder b) {
        super(b);
        this.noise = b.noise;
        this.affine = false;
    }

    /** For JSON. */
    public NoiseInjection() {
        this(new Builder());
    }

    @Override
    public NormSpec normSpec() {
        return new NormSpec(null, false, eps, NormSpec.Noise.AFTER_AFFINE);
    }

    /** Elementwise: the layout only carries the shape (nothing is reduced). */
    @Override
    public Layout layout(long[] view, long[] mask, int groups, boolean sequence) {
        Layout l = Layout.of(view, new int[0], 2);
        return mask == null ? l : l.withMask(mask);
    }

    @Override
    public boolean hasRunningStats() {
        return false;
    }

    /** In inference the layer is the identity. */
    @Override
    public boolean identityInInference() {
        return true;
    }

    @Override
    public NoiseConfig noiseConfig() {
        return noise;
    }

    public static class Builder extends AbstractNormLayer.Builder<Builder> {
        protected NoiseConfig noise = NoiseConfig.santurkar();

        /** The noise (default {@link NoiseConfig#santurkar()}). */
        public Builder noise(NoiseConfig noise) {
            this.noise = noise;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public NoiseInjection build() {
            return new NoiseInjection(this);
        }
    }
}
