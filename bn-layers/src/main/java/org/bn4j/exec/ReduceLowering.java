package org.bn4j.exec;

import org.nd4j.autodiff.functions.DifferentialFunction;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.CustomOp;
import org.nd4j.linalg.api.ops.impl.reduce.same.Max;
import org.nd4j.linalg.api.ops.impl.reduce.same.Sum;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * How the unfused executor runs a graph's {@code sum} or {@code max} over axes of a C-ordered array: as a small graph
 * of other ND4J ops computing the same values.
 *
 * <p>A sum is a product with a ones vector, so that a reduction along an outer axis of a C-ordered array runs as a
 * BLAS matrix–vector product instead of ND4J's reduction kernel: the trailing reduced axes as
 * {@code [rows, inner] · ones[inner, 1]}, then one outer reduced axis as {@code ones[1, len] · [len, k2]} (batched
 * over leading kept positions), which {@link GraphExecutor} runs as BLAS matrix–vector products. The measurements
 * behind this choice are in {@code docs/performance-profile.md}. A maximum takes the
 * trailing reduced axes as row maxima, then splits a leading reduced axis into blocks of
 * {@value #BLOCK} rows, reduces within blocks, and the block maxima again, until fewer rows are left than a block.
 * Unit axes are dropped and adjacent axes of the same kind merged first (a reshape).
 */
final class ReduceLowering {
    static final String IN = "in", OUT = "out";
    private static final long BLOCK = 8;

    private final SameDiff sd;
    private final long[] shape;
    private final boolean[] reduce;
    private final DataType dataType;

    private ReduceLowering(SameDiff sd, long[] shape, boolean[] reduce, DataType dataType) {
        this.sd = sd;
        this.shape = shape;
        this.reduce = reduce;
        this.dataType = dataType;
    }

    /** True for the reductions this class lowers: a legacy {@code sum} or {@code max} over given axes. */
    static boolean applies(DifferentialFunction op) {
        if (op instanceof CustomOp || !(op instanceof Sum || op instanceof Max)) return false;
        int[] dims = op.getDimensions();
        return dims != null && dims.length > 0 && Arrays.stream(dims).noneMatch(d -> d == Integer.MAX_VALUE);
    }

    /**
     * A graph with placeholder {@link #IN} of {@code inShape} and output {@link #OUT}: the same reduction as {@code op}
     * in the faster form, its result (as many values as the op's, in the same order) in the shape that
     * {@link #outShape} gives, so that the caller can pass a view of the op's output array as its destination. The
     * op must reduce at least one axis longer than 1.
     */
    static SameDiff graph(DifferentialFunction op, long[] inShape, DataType dt) {
        boolean[] reduce = new boolean[inShape.length];
        for (int d : op.getDimensions()) reduce[d < 0 ? d + inShape.length : d] = true;
        SameDiff sd = SameDiff.create();
        SDVariable in = sd.placeHolder(IN, dt, inShape);
        ReduceLowering full = new ReduceLowering(sd, inShape, reduce, dt);
        ReduceLowering m = full.merged();
        SDVariable x = m == full ? in : in.reshape(m.shape);
        (op instanceof Sum ? m.sum(x) : m.max(x)).rename(OUT);
        return sd;
    }

    private SDVariable sum(SDVariable x) {
        int t = trailing();
        int[] outer = outerReduced(t);
        SDVariable y = x;
        if (t < shape.length) {
            long inner = prod(t, shape.length);
            y = sd.mmul(y.reshape(prod(0, t), inner), ones(inner, 1));
            if (outer.length == 0) return y;
        }
        if (outer.length > 1) return y.reshape(Arrays.copyOf(shape, t)).sum(true, outer);
        int a = outer[0];
        long k1 = prod(0, a), len = shape[a], k2 = prod(a + 1, t);
        return k1 == 1 ? sd.mmul(ones(1, len), y.reshape(len, k2)) : sd.mmul(ones(k1, 1, len), y.reshape(k1, len, k2));
    }

    private SDVariable max(SDVariable x) {
        int t = trailing();
        int[] outer = outerReduced(t);
        SDVariable y = x;
        if (t < shape.length) {
            y = y.reshape(prod(0, t), prod(t, shape.length)).max(false, 1);
            if (outer.length == 0) return y;
        }
        if (outer.length == 1 && outer[0] == 0) {
            long n = shape[0], k2 = prod(1, t);
            y = y.reshape(n, k2);
            for (; n > BLOCK && n % BLOCK == 0; n /= BLOCK) y = y.reshape(n / BLOCK, BLOCK, k2).max(false, 1);
            return y.max(true, 0);
        }
        return y.reshape(Arrays.copyOf(shape, t)).max(true, outer);
    }

    /** The first of the trailing reduced axes (the rank if the last axis is kept). */
    private int trailing() {
        int t = shape.length;
        while (t > 0 && reduce[t - 1]) t--;
        return t;
    }

    private int[] outerReduced(int t) {
        return IntStream.range(0, t).filter(i -> reduce[i]).toArray();
    }

    /**
     * The same reduction on the shape with unit axes dropped and adjacent axes of the same kind merged: this if
     * nothing merges, null if no reduced axis is longer than 1.
     */
    private ReduceLowering merged() {
        long[] ms = new long[shape.length];
        boolean[] mr = new boolean[shape.length];
        int n = 0;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 1) continue;
            if (n > 0 && mr[n - 1] == reduce[i]) {
                ms[n - 1] *= shape[i];
            } else {
                ms[n] = shape[i];
                mr[n++] = reduce[i];
            }
        }
        boolean any = false;
        for (int i = 0; i < n; i++) any |= mr[i];
        if (!any) return null;
        if (n == shape.length) return this;
        return new ReduceLowering(sd, Arrays.copyOf(ms, n), Arrays.copyOf(mr, n), dataType);
    }

    private SDVariable ones(long... s) {
        return sd.constant(Nd4j.ones(dataType, s));
    }

    private long prod(int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }
}
