package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.NormSpec;

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
 * at every evaluation because the step does not change during it.
 *
 * <p>Defaults: {@link NoiseConfig#santurkar()} (nMu 0.5, nSigma 1.25, rMu 0.1, rSigma 0.1, seed 0), noise after
 * the affine map, plus {@link BatchNorm}'s. {@link NoiseInjection} is the same noise without batch norm.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class NoisyBatchNorm extends BatchNorm {
    /** The noise distribution and seed. */
    protected NoiseConfig noise;
    /** Apply the noise to x̂, before γ and β, instead of after them. */
    protected boolean noiseBeforeAffine;

    protected NoisyBatchNorm(Builder b) {
        super(b);
        this.noise = b.noise;
        this.noiseBeforeAffine = b.noiseBeforeAffine;
    }

    /** For JSON. */
    public NoisyBatchNorm() {
        this(new Builder());
    }

    @Override
    public NormSpec normSpec() {
        return new NormSpec(statistic(), affine, eps,
                noiseBeforeAffine ? NormSpec.Noise.BEFORE_AFFINE : NormSpec.Noise.AFTER_AFFINE);
    }

    @Override
    public NoiseConfig noiseConfig() {
        return noise;
    }

    public static class Builder extends BaseBuilder<Builder> {
        protected NoiseConfig noise = NoiseConfig.santurkar();
        protected boolean noiseBeforeAffine = false;

        /** The noise (default {@link NoiseConfig#santurkar()}). */
        public Builder noise(NoiseConfig noise) {
            this.noise = noise;
            return this;
        }

        /** Apply the noise before γ and β (default false: after). */
        public Builder noiseBeforeAffine(boolean before) {
            this.noiseBeforeAffine = before;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public NoisyBatchNorm build() {
            return new NoisyBatchNorm(this);
        }
    }
}
