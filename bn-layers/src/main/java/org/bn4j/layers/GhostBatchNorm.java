package org.bn4j.layers;

import lombok.EqualsAndHashCode;
import lombok.ToString;

/**
 * Ghost (virtual, sub-batch) batch normalization, Hoffer, Hubara, Soudry 2017 ("Train longer, generalize better"):
 * in training the batch of N samples is split into contiguous ghost batches of {@code virtualBatchSize} v samples,
 * and each is normalized with its own statistics exactly as {@link BatchNorm} does. The split is a reshape
 * {@code [G, v, …]} whose group axis is kept out of the reduction, not a loop over groups. It is {@link BatchNorm}
 * with {@code virtualBatchSize} set, so it combines with any statistic or noise.
 *
 * <p>Rules:
 * <ul>
 *   <li>N not divisible by v: the remainder forms a smaller last group; a remainder of one sample joins the
 *       previous group (one sample has no variance). N = 10, v = 4 gives groups 4, 4, 2; N = 9 gives 4, 5.</li>
 *   <li>v ≥ N is plain batch norm (one group).</li>
 *   <li>Running statistics are updated once per ghost batch, in batch order, as if the ghost batches had been
 *       separate steps: {@code decay} applies G times per step.</li>
 *   <li>Inference uses the running statistics and never splits (Keras applied the split at inference too, a
 *       reported bug).</li>
 * </ul>
 * Defaults: virtualBatchSize 32, plus {@link BatchNorm}'s. User guide: {@code docs/ghost-batch-norm.md}.
 */
@EqualsAndHashCode(callSuper = true)
@ToString(callSuper = true)
public class GhostBatchNorm extends BatchNorm {

    protected GhostBatchNorm(Builder b) {
        super(b);
        if (b.virtualBatchSize < 2) {
            throw new IllegalArgumentException("GhostBatchNorm: virtualBatchSize must be >= 2, got " + b.virtualBatchSize);
        }
    }

    /** For JSON. */
    public GhostBatchNorm() {
        this(new Builder());
        formatVersion = 1;
    }

    public static class Builder extends BaseBuilder<Builder> {
        public Builder() {
            virtualBatchSize = 32;
        }

        @Override
        @SuppressWarnings("unchecked")
        public GhostBatchNorm build() {
            return new GhostBatchNorm(this);
        }
    }
}
