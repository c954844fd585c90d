package org.bn4j.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where the statistics of a normalization are taken: a view shape of the input, the axes reduced for the
 * statistics, the axis the affine parameters run along, and the shape of an optional mask.
 *
 * <p>Every variant describes its input this way (batch norm: all axes but the channel axis; layer norm: all
 * axes but the batch axis; ghost batch norm: a leading group axis kept out of the reduction), so the core
 * never branches on input rank. {@link #simplify()} drops unit axes and merges neighbouring axes of the same
 * kind, so that an NCHW batch norm runs on a 3-D view and a feed-forward one on a 2-D view.
 *
 * @param shape      the view shape of the input (a reshape of the input without copying)
 * @param reduce     per axis: true if the statistics are taken over it
 * @param paramAxis  the axis gamma and beta run along, or -1 if the normalization has no per-feature axis
 * @param maskShape  the shape of the mask weights in this view (broadcast against {@code shape}), or null
 */
public record Layout(long[] shape, boolean[] reduce, int paramAxis, long[] maskShape) {

    public Layout {
        if (shape.length != reduce.length) throw new IllegalArgumentException("shape and reduce differ in rank");
        if (maskShape != null && maskShape.length != shape.length) {
            throw new IllegalArgumentException("mask shape rank differs from the view rank");
        }
    }

    public static Layout of(long[] shape, int[] reduceAxes, int paramAxis) {
        boolean[] r = new boolean[shape.length];
        for (int a : reduceAxes) r[a] = true;
        return new Layout(shape.clone(), r, paramAxis, null);
    }

    public Layout withMask(long[] maskShape) {
        return new Layout(shape, reduce, paramAxis, maskShape);
    }

    public int rank() {
        return shape.length;
    }

    /** The reduced axes. */
    public int[] reduceAxes() {
        return axes(true);
    }

    /** The axes gamma/beta gradients are summed over: every axis but the parameter axis. */
    public int[] paramReduceAxes() {
        int[] out = new int[rank() - (paramAxis >= 0 ? 1 : 0)];
        int j = 0;
        for (int i = 0; i < rank(); i++) if (i != paramAxis) out[j++] = i;
        return out;
    }

    private int[] axes(boolean reduced) {
        return java.util.stream.IntStream.range(0, rank()).filter(i -> reduce[i] == reduced).toArray();
    }

    /** Number of elements in one statistics group (the mask not counted). */
    public long groupSize() {
        long m = 1;
        for (int i = 0; i < rank(); i++) if (reduce[i]) m *= shape[i];
        return m;
    }

    /** Shape of the statistics: the view shape with the reduced axes set to 1. */
    public long[] statsShape() {
        long[] s = shape.clone();
        for (int i = 0; i < rank(); i++) if (reduce[i]) s[i] = 1;
        return s;
    }

    /** Shape of gamma/beta in this view: 1 everywhere but the parameter axis. */
    public long[] paramShape() {
        long[] s = new long[rank()];
        Arrays.fill(s, 1);
        if (paramAxis >= 0) s[paramAxis] = shape[paramAxis];
        return s;
    }

    /** True if the statistics have one entry per feature, so that they can be kept as running statistics. */
    public boolean statsPerFeature() {
        return Arrays.equals(statsShape(), paramShape());
    }

    /**
     * An equivalent layout of lower rank: unit axes dropped (the parameter axis and masked axes kept), and
     * neighbouring axes merged when both are reduced or both are kept, neither is the parameter axis, and the
     * mask is uniform across both or covers both.
     */
    public Layout simplify() {
        List<long[]> groups = new ArrayList<>(); // {size, reduce?1:0, isParam, maskSize}
        for (int i = 0; i < rank(); i++) {
            long mask = maskShape == null ? 1 : maskShape[i];
            if (shape[i] == 1 && i != paramAxis) continue;
            long[] cur = {shape[i], reduce[i] ? 1 : 0, i == paramAxis ? 1 : 0, mask};
            if (!groups.isEmpty()) {
                long[] last = groups.get(groups.size() - 1);
                boolean maskMergeable = maskShape == null
                        || (last[3] == 1 && mask == 1) || (last[3] == last[0] && mask == cur[0]);
                if (last[1] == cur[1] && last[2] == 0 && cur[2] == 0 && maskMergeable) {
                    last[0] *= cur[0];
                    last[3] *= cur[3];
                    continue;
                }
            }
            groups.add(cur);
        }
        if (groups.isEmpty()) groups.add(new long[]{1, 0, 0, 1});
        int n = groups.size();
        long[] s = new long[n];
        boolean[] r = new boolean[n];
        long[] m = maskShape == null ? null : new long[n];
        int p = -1;
        for (int i = 0; i < n; i++) {
            long[] g = groups.get(i);
            s[i] = g[0];
            r[i] = g[1] == 1;
            if (g[2] == 1) p = i;
            if (m != null) m[i] = g[3];
        }
        return new Layout(s, r, p, m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l && Arrays.equals(shape, l.shape) && Arrays.equals(reduce, l.reduce)
                && paramAxis == l.paramAxis && Arrays.equals(maskShape, l.maskShape);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(shape) + Arrays.hashCode(reduce)) + 7 * paramAxis
                + Arrays.hashCode(maskShape);
    }

    @Override
    public String toString() {
        return "Layout" + Arrays.toString(shape) + " reduce " + Arrays.toString(reduceAxes()) + " param " + paramAxis
                + (maskShape == null ? "" : " mask " + Arrays.toString(maskShape));
    }
}
