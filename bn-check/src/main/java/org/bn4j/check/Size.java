package org.bn4j.check;

/**
 * The sizes of the test inputs: a batch of {@code batch} samples with {@code channels} channels and a spatial side or
 * sequence length {@code side}.
 */
public record Size(long batch, long channels, long side) {
    public Size {
        if (batch < 1 || channels < 1 || side < 1) {
            throw new IllegalArgumentException("sizes must be >= 1, got batch " + batch + ", channels " + channels
                    + ", side " + side);
        }
    }

    @Override
    public String toString() {
        return "n=" + batch + ",c=" + channels + ",s=" + side;
    }
}
