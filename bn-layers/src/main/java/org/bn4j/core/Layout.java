package org.bn4j.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Where the statistics of a normalization are taken and where its parameters live: a view shape of the input, the
 * axes reduced for the statistics, the axes the per-feature parameters (γ, β, running statistics) run along, and the
 * shape of an optional mask.
 *
 * <p>The two sets of axes are independent, as in Flax's group norm: statistics are computed in one layout and
 * broadcast to the parameters'. Batch norm reduces every axis but the channel axis, which carries the parameters;
 * layer norm reduces every axis but the batch axis and carries its parameters on the channel axis; group norm splits
 * the channel axis into [groups, channels per group], reduces the second and carries its parameters on both; ghost
 * batch norm adds a leading group axis kept out of the reduction. The parameter axes are contiguous and in the
 * parameter vector's order, so a parameter vector of length ∏ shape[param axes] reshapes to {@link #paramShape()}.
 * The core never branches on the input's rank: {@link #simplify()} drops unit axes and merges neighbouring axes of
 * the same kind, so that an NCHW batch norm runs on a 3-D view and a feed-forward one on a 2-D view.
 *
 * @param shape     the view shape of the input (a reshape of the input without copying)
 * @param reduce    per axis: true if the statistics are taken over it
 * @param param     per axis: true if the parameters run along it
 * @param maskShape the shape of the mask weights in this view (broadcast against {@code shape}), or null
 */
public record Layout(long[] shape, boolean[] reduce, boolean[] param, long[] maskShape) {

    public Layout {
        if (shape.length != reduce.length || shape.length != param.length) {
            throw new IllegalArgumentException("shape, reduce and param differ in rank");
        }
        if (maskShape != null && maskShape.length != shape.length) {
            throw new IllegalArgumentException("mask shape rank differs from the view rank");
        }
    }

    /** A layout without a mask. */
    public static Layout of(long[] shape, int[] reduceAxes, int... paramAxes) {
        boolean[] r = new boolean[shape.length], p = new boolean[shape.length];
        for (int a : reduceAxes) r[a] = true;
        for (int a : paramAxes) p[a] = true;
        return new Layout(shape.clone(), r, p, null);
    }

    public Layout withMask(long[] mask) {
        return new Layout(shape, reduce, param, mask);
    }

    public int rank() {
        return shape.length;
    }

    /** The reduced axes. */
    public int[] reduceAxes() {
        return IntStream.range(0, rank()).filter(i -> reduce[i]).toArray();
    }

    /** Per axis: true if γ/β gradients are summed over it (every axis but the parameter axes). */
    public boolean[] paramReduce() {
        boolean[] r = new boolean[rank()];
        for (int i = 0; i < r.length; i++) r[i] = !param[i];
        return r;
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

    /** Shape of γ, β and the running statistics in this view: 1 everywhere but the parameter axes. */
    public long[] paramShape() {
        long[] s = new long[rank()];
        for (int i = 0; i < rank(); i++) s[i] = param[i] ? shape[i] : 1;
        return s;
    }

    /** Number of parameters per kind (γ, β, each running statistic). */
    public long paramCount() {
        long n = 1;
        for (int i = 0; i < rank(); i++) if (param[i]) n *= shape[i];
        return n;
    }

    /** True if the statistics have one entry per parameter: sums over a statistics group are sums over a feature. */
    public boolean statsPerFeature() {
        return Arrays.equals(statsShape(), paramShape());
    }

    /** Shape of the per-group counts of a masked layout: the mask shape with the reduced axes set to 1. */
    public long[] countShape() {
        long[] s = maskShape.clone();
        for (int i = 0; i < s.length; i++) if (reduce[i]) s[i] = 1;
        return s;
    }

    /**
     * An equivalent layout of lower rank: unit axes dropped, and neighbouring axes merged when both are reduced or
     * both kept, both parameter axes or neither, and the mask is uniform across both or covers both.
     */
    public Layout simplify() {
        List<long[]> groups = new ArrayList<>(); // {size, reduce?1:0, param?1:0, maskSize}
        for (int i = 0; i < rank(); i++) {
            long mask = maskShape == null ? 1 : maskShape[i];
            if (shape[i] == 1) continue;
            long[] cur = {shape[i], reduce[i] ? 1 : 0, param[i] ? 1 : 0, mask};
            if (!groups.isEmpty()) {
                long[] last = groups.get(groups.size() - 1);
                boolean maskMergeable = maskShape == null
                        || (last[3] == 1 && mask == 1) || (last[3] == last[0] && mask == cur[0]);
                if (last[1] == cur[1] && last[2] == cur[2] && maskMergeable) {
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
        boolean[] r = new boolean[n], p = new boolean[n];
        long[] m = maskShape == null ? null : new long[n];
        for (int i = 0; i < n; i++) {
            long[] g = groups.get(i);
            s[i] = g[0];
            r[i] = g[1] == 1;
            p[i] = g[2] == 1;
            if (m != null) m[i] = g[3];
        }
        return new Layout(s, r, p, m);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout l && Arrays.equals(shape, l.shape) && Arrays.equals(reduce, l.reduce)
                && Arrays.equals(param, l.param) && Arrays.equals(maskShape, l.maskShape);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * Arrays.hashCode(shape) + Arrays.hashCode(reduce)) + Arrays.hashCode(param))
                + Arrays.hashCode(maskShape);
    }

    @Override
    public String toString() {
        return "Layout" + Arrays.toString(shape) + " reduce " + Arrays.toString(reduceAxes()) + " param "
                + Arrays.toString(IntStream.range(0, rank()).filter(i -> param[i]).toArray())
                + (maskShape == null ? "" : " mask " + Arrays.toString(maskShape));
    }
}
