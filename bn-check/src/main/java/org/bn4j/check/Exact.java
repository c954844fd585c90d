package org.bn4j.check;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

/**
 * Comparisons for tests. "Identical" means bit for bit: {@code INDArray.equals} allows a relative difference of
 * {@code Nd4j.EPS_THRESHOLD} (1e-5), so these helpers compare the values themselves.
 */
public final class Exact {
    private Exact() {
    }

    /** Null if a and b have the same type, shape and bit-identical values; else what differs. */
    public static String difference(INDArray a, INDArray b) {
        if (a == null || b == null) return a == b ? null : "one of the arrays is null";
        if (a.dataType() != b.dataType()) return "data types differ: " + a.dataType() + " vs " + b.dataType();
        if (!Arrays.equals(a.shape(), b.shape())) {
            return "shapes differ: " + Arrays.toString(a.shape()) + " vs " + Arrays.toString(b.shape());
        }
        double[] x = values(a), y = values(b);
        for (int i = 0; i < x.length; i++) {
            if (Double.doubleToLongBits(x[i]) != Double.doubleToLongBits(y[i])) {
                return "element " + i + " differs: " + x[i] + " vs " + y[i] + " (and maybe others)";
            }
        }
        return null;
    }

    /** True if a and b have the same type, shape and bit-identical values. */
    public static boolean same(INDArray a, INDArray b) {
        return difference(a, b) == null;
    }

    /** Throws an AssertionError naming {@code what} unless a and b are bit-identical. */
    public static void assertSame(INDArray expected, INDArray actual, String what) {
        String d = difference(expected, actual);
        if (d != null) throw new AssertionError(what + ": not identical: " + d);
    }

    /** max |e − a| / max |e| over the arrays (0 for two zero arrays). */
    public static double relativeError(double[] expected, double[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("lengths differ: " + expected.length + " vs " + actual.length);
        }
        double err = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
            if (Double.isNaN(actual[i]) != Double.isNaN(expected[i])) return Double.POSITIVE_INFINITY;
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return scale == 0 ? err : err / scale;
    }

    /** Throws an AssertionError naming {@code what} unless the relative error is at most tol. */
    public static void assertClose(double[] expected, double[] actual, double tol, String what) {
        double rel = relativeError(expected, actual);
        if (!(rel <= tol)) throw new AssertionError(what + ": relative error " + rel + " > " + tol);
    }

    /** The values of an array in C order, as doubles. */
    public static double[] values(INDArray a) {
        return a.dup('c').reshape(a.length()).toDoubleVector();
    }
}
