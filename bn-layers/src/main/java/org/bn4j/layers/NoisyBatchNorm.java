package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;

/**
 * "Noisy" batch norm of Santurkar, Tsipras, Ilyas, Madry (2018, Appendix A, Algorithm 1): {@link BatchNorm}
 * followed by noise that changes the distribution of every activation at every step (see {@link NoiseConfig}):
 * <pre>
 *   after the affine map (default):  y = s ⊙ (γ x̂ + β) + m
 *   before it:                       y = γ (s ⊙ x̂ + m) + β
 * </pre>
 * Training only: inference is plain batch norm with the running statistics, which are taken from the batch
 * statistics before the noise, as in {@link BatchNorm}. The gradient treats s and m as constants (dx is
 * multiplied by s). The noise of a step is reproducible from the seed; a gradient check sees the same noise
 * at every evaluation because the step does not change during it. It is {@link BatchNorm} with {@code noise} set;
 * any layer takes {@code noise(...)} the same way (a noisy layer norm, say).
 *
 * <p>Defaults: {@link NoiseConfig#santurkar()} (nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1, seed 0), noise after
 * the affine map, plus {@link BatchNorm}'s. {@link NoiseInjection} is the same noise without batch norm. User guide:
 * {@code docs/noisy-batch-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class NoisyBatchNorm extends BatchNorm {

    protected NoisyBatchNorm(Builder b) {
        super(b);
        if (b.noise == null) throw new IllegalArgumentException("NoisyBatchNorm: noise must not be null (NoiseConfig.none() for none)");
    }

    /** For JSON. */
    public NoisyBatchNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    public static class Builder extends BaseBuilder<Builder> {
        public Builder() {
            noise = NoiseConfig.santurkar();
        }

        @Override
        @SuppressWarnings("unchecked")
        public NoisyBatchNorm build() {
            return new NoisyBatchNorm(this);
        }
    }
}
