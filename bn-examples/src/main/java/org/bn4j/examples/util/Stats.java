package org.bn4j.examples.util;

import java.util.Arrays;

import org.apache.commons.math3.stat.StatUtils;
import org.apache.commons.math3.stat.descriptive.rank.Median;

/** Summaries of measured values with commons-math, leaving out non-finite values (a diverged run's NaN). */
public final class Stats {

    private Stats() {
    }

    private static double[] finite(double[] v) {
        return Arrays.stream(v).filter(Double::isFinite).toArray();
    }

    /** Mean of the finite values (NaN when there are none). */
    public static double mean(double[] v) {
        return StatUtils.mean(finite(v));
    }

    /** Median of the finite values. */
    public static double median(double[] v) {
        return new Median().evaluate(finite(v));
    }

    public static double max(double[] v) {
        return StatUtils.max(finite(v));
    }

    public static double min(double[] v) {
        return StatUtils.min(finite(v));
    }

    /** The first {@code fraction} of the values (at least one). */
    public static double[] head(double[] v, double fraction) {
        return Arrays.copyOf(v, Math.max(1, (int) Math.ceil(v.length * fraction)));
    }
}
