package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.Getter;
import lombok.ToString;
import org.bn4j.core.Layout;
import org.deeplearning4j.nn.conf.inputs.InputType;

/**
 * Group normalization (Wu and He 2018): the channels are split into {@code groups} contiguous groups, and each sample
 * is normalized per group over the group's channels and every position, with γ and β per channel:
 * <pre>
 *   for sample n and group g (channels c ∈ g):   μ = mean of x[n, c ∈ g, positions],   σ² = mean of (x − μ)²
 *   y = γ_c (x − μ)/sqrt(σ² + ε) + β_c
 * </pre>
 * The same in training and inference (no running statistics); positions are H·W (CNN), D·H·W (3-D CNN) or the
 * unmasked time steps (RNN; masked steps give output 0 and gradient 0); feed-forward input has one position. One
 * group is layer norm over C·H·W; C groups is instance norm. The gradient is the core's complete one, with the sums
 * taken per group. Any statistic, centring or noise option applies.
 *
 * <p>Defaults: groups 32 (Wu and He), ε 1e-5, γ = 1, β = 0 (learned). {@code groups} must divide the number of
 * channels. User guide: {@code docs/group-norm.md}.
 */
@Getter
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class GroupNorm extends AbstractNormLayer {
    /** Number of channel groups. */
    protected int groups;

    protected GroupNorm(Builder b) {
        super(b);
        if (b.groups < 1) throw new IllegalArgumentException("GroupNorm: groups must be >= 1, got " + b.groups);
        this.groups = b.groups;
        checkGroups(nIn);
    }

    /** For JSON. */
    public GroupNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    private void checkGroups(long channels) {
        if (channels > 0 && channels % groups != 0) {
            throw new IllegalArgumentException(describe() + ": groups must divide the number of channels " + channels
                    + ", got groups = " + groups);
        }
    }

    @Override
    public void setNIn(InputType inputType, boolean override) {
        super.setNIn(inputType, override);
        checkGroups(nIn);
    }

    /** Per sample and group over the group's channels and every position: [N, P, G, C/G, Q] reducing P, C/G, Q. */
    @Override
    public Layout layout(long[] view, long[] mask, int ghostGroups, boolean sequence) {
        checkGroups(view[2]);
        long g = groups;
        Layout l = Layout.of(new long[]{view[0], view[1], g, view[2] / g, view[3]}, new int[]{1, 3, 4}, 2, 3);
        return mask == null ? l : l.withMask(new long[]{mask[0], mask[1], 1, 1, mask[3]});
    }

    public static class Builder extends AbstractNormLayer.Builder<Builder> {
        protected int groups = 32;

        public Builder() {
        }

        public Builder(int groups) {
            this.groups = groups;
        }

        /** Number of channel groups, a divisor of the number of channels (default 32). */
        public Builder groups(int groups) {
            this.groups = groups;
            return this;
        }

        @Override
        @SuppressWarnings("unchecked")
        public GroupNorm build() {
            return new GroupNorm(this);
        }
    }
}
