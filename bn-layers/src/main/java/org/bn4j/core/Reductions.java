package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.stream.IntStream;

/**
 * Group-wise reductions over the reduced axes of one view shape, as SameDiff ops, with the result in keepDims
 * shape.
 *
 * <p>ND4J reduces along an outer axis of a C-ordered array slowly (DL4J-NOTES: {@code x.sum(0)} of [4096,1024]
 * 28 ms, a ones-vector matrix product 1.5–2 ms). So a sum is expressed as products with a ones vector, which are
 * the same sums: the trailing reduced axes as {@code [rows, inner] · ones[inner, 1]}, then an outer reduced axis as
 * {@code ones[1, len] · [len, k2]}. The operands stay matrices, which SameDiff differentiates (its matmul gradient
 * fails on rank-1 operands in M2.1); {@link GraphExecutor} runs such products as BLAS matrix–vector products.
 */
final class Reductions {
    private final SameDiff sd;
    private final long[] shape;
    private final boolean[] reduce;
    private final DataType dataType;

    Reductions(SameDiff sd, long[] shape, boolean[] reduce, DataType dataType) {
        this.sd = sd;
        this.shape = shape;
        this.reduce = reduce;
        this.dataType = dataType;
    }

    DataType dataType() {
        return dataType;
    }

    private int[] reduceAxes() {
        return IntStream.range(0, shape.length).filter(i -> reduce[i]).toArray();
    }

    long[] keepDimsShape() {
        long[] s = shape.clone();
        for (int i = 0; i < s.length; i++) if (reduce[i]) s[i] = 1;
        return s;
    }

    /** Sum over the reduced axes of a full-shape variable, keepDims. */
    SDVariable sum(SDVariable x) {
        return reduce(x, Reductions::sumMerged);
    }

    /**
     * Maximum over the reduced axes, keepDims. ND4J reduces a leading axis of a C-ordered matrix slowly (a column
     * maximum of [4096,1024] takes about 38 ms), and fast along the last axis. So trailing reduced axes go first, as
     * row maxima; a leading reduced axis is then split into blocks of {@value #BLOCK} rows, reduced within blocks,
     * and the block maxima again, until fewer rows are left than a block (the same maximum; at [4096,1024] 3.5 ms
     * in CoreProfile, against 8.7 ms for one level of 32-row blocks).
     */
    SDVariable max(SDVariable x) {
        return reduce(x, Reductions::maxMerged);
    }

    /** A reduction run on the merged shape ({@link #merged()}), its result reshaped to keepDims. */
    private SDVariable reduce(SDVariable x, BiFunction<Reductions, SDVariable, SDVariable> onMerged) {
        Reductions m = merged();
        if (m == null) return x.reshape(keepDimsShape());
        return onMerged.apply(m, m == this ? x : x.reshape(m.shape)).reshape(keepDimsShape());
    }

    private SDVariable sumMerged(SDVariable x) {
        int t = trailing();
        int[] outer = outerReduced(t);
        SDVariable y = x;
        if (t < shape.length) {
            // trailing reduced axes: [rows, inner] · ones[inner, 1]
            long inner = prod(t, shape.length);
            y = sd.mmul(y.reshape(prod(0, t), inner), ones(inner, 1));
            if (outer.length == 0) return y;
        }
        if (outer.length > 1) return y.reshape(prefix(t)).sum(true, outer);
        int a = outer[0];
        long k1 = prod(0, a), len = shape[a], k2 = prod(a + 1, t);
        // one outer reduced axis: ones[1, len] · [len, k2], batched over the k1 leading positions
        return k1 == 1 ? sd.mmul(ones(1, len), y.reshape(len, k2)) : sd.mmul(ones(k1, 1, len), y.reshape(k1, len, k2));
    }

    private SDVariable maxMerged(SDVariable x) {
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
        return y.reshape(prefix(t)).max(true, outer);
    }

    /** The first of the trailing reduced axes (the rank if the last axis is kept). */
    private int trailing() {
        int t = shape.length;
        while (t > 0 && reduce[t - 1]) t--;
        return t;
    }

    /** The reduced axes before {@code t}. */
    private int[] outerReduced(int t) {
        return IntStream.range(0, t).filter(i -> reduce[i]).toArray();
    }

    private static final long BLOCK = 8;

    /**
     * The same reduction on the shape with unit axes dropped and adjacent axes of the same kind merged (a reshape of
     * a C-ordered array): this if nothing merges, null if no reduced axis is longer than 1.
     */
    private Reductions merged() {
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
        return new Reductions(sd, Arrays.copyOf(ms, n), Arrays.copyOf(mr, n), dataType);
    }

    /** The view shape cut to its first {@code t} axes. */
    private long[] prefix(int t) {
        return Arrays.copyOf(shape, t);
    }

    /** Sum of a broadcastable (mask-shaped) variable over the reduced axes, counting broadcast axes. */
    SDVariable sumBroadcast(SDVariable w, long[] wShape) {
        long factor = 1;
        for (int i = 0; i < shape.length; i++) if (reduce[i] && wShape[i] == 1) factor *= shape[i];
        // reduce only the axes the mask varies along (M2.1 fails on a reduction over a unit axis)
        int[] axes = IntStream.range(0, shape.length).filter(i -> reduce[i] && wShape[i] > 1).toArray();
        SDVariable s = axes.length == 0 ? w : w.sum(true, axes);
        return factor == 1 ? s : s.mul((double) factor);
    }

    /**
     * The k largest values of each group: the reduced axes are moved last and flattened, giving values and
     * indices of shape [groups, k]; {@link #fromGroups} maps a [groups, 1] result back to keepDims shape.
     */
    SDVariable[] topK(SDVariable x, int k) {
        int[] kept = IntStream.range(0, shape.length).filter(i -> !reduce[i]).toArray();
        int[] red = reduceAxes();
        int[] perm = IntStream.concat(Arrays.stream(kept), Arrays.stream(red)).toArray();
        long groups = 1, m = 1;
        for (int i : kept) groups *= shape[i];
        for (int i : red) m *= shape[i];
        if (k > m) throw new IllegalArgumentException("top-k statistic: k = " + k + " exceeds the group size " + m);
        return TopKOp.of(sd, x.permute(perm).reshape(groups, m), k);
    }

    SDVariable fromGroups(SDVariable perGroup) {
        return perGroup.reshape(keepDimsShape());
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
