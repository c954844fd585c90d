package org.bn4j.spark;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Comparisons of parameter tables, naming the parameter that differs. */
final class Params {
    /** Float tolerance: absolute, on values of order 1. */
    static final double FLOAT_TOL = 1e-5;

    private Params() {
    }

    /** The names of the running statistics (the batch-norm family's {@code mean} and {@code var}) in a table. */
    static List<String> runningStatistics(Map<String, INDArray> table) {
        return table.keySet().stream().filter(k -> k.endsWith("_mean") || k.endsWith("_var")).toList();
    }

    static double maxAbsDiff(INDArray a, INDArray b) {
        assertEquals(a.length(), b.length(), "lengths");
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    /** Every parameter of {@code actual} within {@code tol} of {@code expected}; returns the largest difference. */
    static double assertClose(String what, Map<String, INDArray> expected, Map<String, INDArray> actual, double tol) {
        assertEquals(expected.keySet(), actual.keySet(), what + ": parameter names");
        double worst = 0;
        for (String k : expected.keySet()) {
            double d = maxAbsDiff(expected.get(k), actual.get(k));
            assertTrue(d <= tol, what + ": parameter " + k + " differs by " + d + " (tolerance " + tol + ")\n expected "
                    + expected.get(k) + "\n actual   " + actual.get(k));
            worst = Math.max(worst, d);
        }
        return worst;
    }
}
