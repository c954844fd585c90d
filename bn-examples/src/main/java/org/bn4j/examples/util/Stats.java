package org.bn4j.examples.util;

import java.util.Arrays;
import java.util.List;

/** Small statistics over double arrays (NaN values are skipped). */
public final class Stats {

    private Stats() {
    }

    private static double[] finite(double[] v) {
        return Arrays.stream(v).filter(Double::isFinite).toArray();
    }

    public static double mean(double[] v) {
        return Arrays.stream(finite(v)).average().orElse(Double.NaN);
    }

    public static double median(double[] v) {
        double[] f = finite(v);
        if (f.length == 0) {
            return Double.NaN;
        }
        Arrays.sort(f);
        return f.length % 2 == 1 ? f[f.length / 2] : (f[f.length / 2 - 1] + f[f.length / 2]) / 2;
    }

    public static double max(double[] v) {
        return Arrays.stream(finite(v)).max().orElse(Double.NaN);
    }

    public static double min(double[] v) {
        return Arrays.stream(finite(v)).min().orElse(Double.NaN);
    }

    /** The first {@code fraction} of the values (at least one). */
    public static double[] head(double[] v, double fraction) {
        return Arrays.copyOf(v, Math.max(1, (int) Math.ceil(v.length * fraction)));
    }

    /** The values after the first {@code fraction}. */
    public static double[] tail(double[] v, double fraction) {
        int from = Math.min(v.length - 1, (int) Math.floor(v.length * fraction));
        return Arrays.copyOfRange(v, Math.max(0, from), v.length);
    }

    public static double[] toArray(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
