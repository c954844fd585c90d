package org.bn4j.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * An input shape written like {@code 4096x1024}. Rank 2 is [minibatch, features], rank 3 is NCW
 * [minibatch, channels, time], rank 4 is NCHW [minibatch, channels, height, width]. The normalized
 * (channel) axis is always 1.
 */
public record Shape(long[] dims) {

    public static Shape parse(String s) {
        return new Shape(Arrays.stream(s.split("x")).mapToLong(Long::parseLong).toArray());
    }

    public int rank() {
        return dims.length;
    }

    public long channels() {
        return dims[1];
    }

    public long elements() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }

    /** Bytes of one float32 tensor of this shape. */
    public long bytes() {
        return 4 * elements();
    }

    /** The same layout with minibatch 2 and every spatial/time size 2 (for warm-up before memory probes). */
    public Shape tiny() {
        long[] t = dims.clone();
        t[0] = 2;
        for (int i = 2; i < t.length; i++) {
            t[i] = 2;
        }
        return new Shape(t);
    }

    public int[] intDims() {
        return Arrays.stream(dims).mapToInt(Math::toIntExact).toArray();
    }

    @Override
    public String toString() {
        return Arrays.stream(dims).mapToObj(Long::toString).collect(Collectors.joining("x"));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }
}
