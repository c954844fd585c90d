package org.bn4j.diagnostics;

import java.util.Arrays;

/**
 * The distribution of one activation over the probe's data: per channel (axis 1: the feature of dense layers, the
 * channel of NCHW and NCW activations) the mean and standard deviation over all other axes, and quantiles of the
 * values of channel 0.
 *
 * @param site        where it was measured
 * @param channelMean per-channel means
 * @param channelStd  per-channel population standard deviations
 * @param q05         5th percentile of channel 0's values (linear interpolation between order statistics)
 * @param q50         median of channel 0's values
 * @param q95         95th percentile of channel 0's values
 */
public record ActivationStats(Site site, double[] channelMean, double[] channelStd, double q05, double q50, double q95) {

    public double meanOfMeans() {
        return Arrays.stream(channelMean).average().orElse(Double.NaN);
    }

    public double meanOfStds() {
        return Arrays.stream(channelStd).average().orElse(Double.NaN);
    }

    /**
     * How far the distribution moved since {@code previous}: the mean over channels of |Δmean| + |Δstd|, divided by
     * the mean channel std of {@code previous} (scale-free, so networks with and without normalization compare).
     *
     * @throws IllegalArgumentException when the two have different numbers of channels
     */
    public double driftFrom(ActivationStats previous) {
        if (previous.channelMean.length != channelMean.length) {
            throw new IllegalArgumentException("activation drift at " + site + ": " + channelMean.length
                    + " channels now, " + previous.channelMean.length + " before");
        }
        double s = 0;
        for (int c = 0; c < channelMean.length; c++) {
            s += Math.abs(channelMean[c] - previous.channelMean[c]) + Math.abs(channelStd[c] - previous.channelStd[c]);
        }
        return s / channelMean.length / Math.max(previous.meanOfStds(), 1e-12);
    }
}
