package org.bn4j.layers.weightnorm;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Array helpers of the weight-norm tests. */
final class WnAsserts {
    private WnAsserts() {
    }

    static double[] doubles(INDArray a) {
        return a.dup('c').data().asDouble();
    }

    static int[] intShape(INDArray a) {
        return Arrays.stream(a.shape()).mapToInt(i -> (int) i).toArray();
    }

    /** max |expected − actual| / max |expected| ≤ tol. */
    static void assertClose(String what, double[] expected, double[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double maxErr = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            maxErr = Math.max(maxErr, Math.abs(expected[i] - actual[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        double rel = maxErr / Math.max(scale, Double.MIN_NORMAL);
        assertTrue(rel <= tol, what + ": relative error " + rel + " > " + tol);
    }

    /**
     * Per-unit mean and biased variance of z over every axis but the unit axis.
     *
     * @return {mean[], var[]}
     */
    static double[][] unitMoments(double[] z, int[] shape, int unitAxis) {
        int units = shape[unitAxis];
        int inner = 1;
        for (int a = unitAxis + 1; a < shape.length; a++) inner *= shape[a];
        double[] sum = new double[units], sq = new double[units];
        int m = z.length / units;
        for (int i = 0; i < z.length; i++) sum[(i / inner) % units] += z[i];
        double[] mean = new double[units];
        for (int j = 0; j < units; j++) mean[j] = sum[j] / m;
        for (int i = 0; i < z.length; i++) {
            int j = (i / inner) % units;
            sq[j] += (z[i] - mean[j]) * (z[i] - mean[j]);
        }
        double[] var = new double[units];
        for (int j = 0; j < units; j++) var[j] = sq[j] / m;
        return new double[][]{mean, var};
    }
}
