package org.bn4j.examples.probe;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Distribution of the values entering named layers (e.g. the input of each activation layer: the normalized,
 * possibly noisy, pre-activations) in a training-mode forward pass. Training-mode forward passes do not change
 * bn4j's running statistics (they are updated in backprop), nor the iteration count.
 */
public final class Activations {

    /** Statistics of one layer's input: per-channel means and stds, and quantiles of channel 0's values. */
    public record Dist(String layer, double[] channelMean, double[] channelStd, double q05, double q50, double q95) {
        public double meanOfMeans() {
            return Arrays.stream(channelMean).average().orElse(Double.NaN);
        }

        public double meanOfStds() {
            return Arrays.stream(channelStd).average().orElse(Double.NaN);
        }

        /**
         * How far the distribution moved since {@code prev}: mean over channels of |Δmean| + |Δstd|, divided by the
         * mean channel std of {@code prev} (scale-free, so networks with and without normalization compare).
         */
        public double driftFrom(Dist prev) {
            double s = 0;
            for (int c = 0; c < channelMean.length; c++) {
                s += Math.abs(channelMean[c] - prev.channelMean[c]) + Math.abs(channelStd[c] - prev.channelStd[c]);
            }
            return s / channelMean.length / Math.max(prev.meanOfStds(), 1e-12);
        }
    }

    private Activations() {
    }

    /** Statistics of the inputs of the named layers on {@code features}, in training mode. */
    public static List<Dist> of(MultiLayerNetwork net, INDArray features, List<String> layers) {
        Probe p = new Probe(net);
        List<INDArray> acts = net.feedForward(features, true);
        List<Dist> out = new ArrayList<>();
        for (String name : layers) {
            INDArray a = acts.get(p.indexOf(name)).castTo(DataType.DOUBLE);
            int[] reduce = a.rank() == 4 ? new int[] {0, 2, 3} : new int[] {0};
            double[] m = a.mean(reduce).toDoubleVector();
            double[] s = a.std(false, reduce).toDoubleVector();
            double[] unit = (a.rank() == 4 ? a.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(0)) : a.getColumn(0)).dup().reshape(-1).toDoubleVector();
            Arrays.sort(unit);
            out.add(new Dist(name, m, s, quantile(unit, 0.05), quantile(unit, 0.5), quantile(unit, 0.95)));
        }
        net.clear();
        return out;
    }

    /** Quantile of sorted values (linear interpolation). */
    public static double quantile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double pos = q * (sorted.length - 1);
        int lo = (int) Math.floor(pos);
        int hi = Math.min(sorted.length - 1, lo + 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
