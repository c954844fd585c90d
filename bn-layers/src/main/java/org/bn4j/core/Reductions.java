package org.bn4j.core;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

import java.util.stream.IntStream;

/**
 * Group-wise reductions over the reduced axes of one view shape, as SameDiff ops, with the result in keepDims
 * shape.
 *
 * <p>Sums and maxima are the graph's plain {@code sum}/{@code max} reductions over the reduced axes (those longer
 * than 1: ND4J's reductions fail inside SameDiff on a unit axis), which SameDiff differentiates and which say what
 * is computed, not how: the executor ({@link org.bn4j.exec.CompiledGraph}) fuses them with the elementwise work
 * around them, or runs them as ND4J ops in the fastest form it knows (matrix–vector products with a ones vector,
 * maxima in blocks of rows).
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

    long[] keepDimsShape() {
        long[] s = shape.clone();
        for (int i = 0; i < s.length; i++) if (reduce[i]) s[i] = 1;
        return s;
    }

    /** Sum over the reduced axes of a full-shape variable, keepDims. */
    SDVariable sum(SDVariable x) {
        int[] axes = longAxes();
        return axes.length == 0 ? x.reshape(keepDimsShape()) : x.sum(true, axes);
    }

    /** Maximum over the reduced axes, keepDims. */
    SDVariable max(SDVariable x) {
        int[] axes = longAxes();
        return axes.length == 0 ? x.reshape(keepDimsShape()) : x.max(true, axes);
    }

    /** The reduced axes longer than 1. */
    private int[] longAxes() {
        return IntStream.range(0, shape.length).filter(i -> reduce[i] && shape[i] > 1).toArray();
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
}
